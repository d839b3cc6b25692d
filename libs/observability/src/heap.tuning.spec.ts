import * as v8 from 'node:v8';
import { capHeapGrowth } from './heap.tuning';

jest.mock('node:v8', () => ({ setFlagsFromString: jest.fn() }));

describe('capHeapGrowth', () => {
  afterEach(() => jest.clearAllMocks());

  it("sets V8's heap growing factor to the configured percent", () => {
    capHeapGrowth(20);
    expect(v8.setFlagsFromString).toHaveBeenCalledWith('--heap-growing-percent=20');
  });

  it("leaves V8's own factor at 0", () => {
    capHeapGrowth(0);
    expect(v8.setFlagsFromString).not.toHaveBeenCalled();
  });
});
