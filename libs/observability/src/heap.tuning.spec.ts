import * as v8 from 'node:v8';
import { capHeapGrowth, liftHeapCap } from './heap.tuning';

jest.mock('node:v8', () => ({ setFlagsFromString: jest.fn() }));

describe('heap growth', () => {
  afterEach(() => {
    capHeapGrowth(0);
    jest.clearAllMocks();
  });

  it("sets V8's heap growing factor to the configured percent, and leaves V8's own at 0", () => {
    capHeapGrowth(20);
    expect(v8.setFlagsFromString).toHaveBeenLastCalledWith('--heap-growing-percent=20');
    jest.clearAllMocks();
    capHeapGrowth(0);
    expect(v8.setFlagsFromString).not.toHaveBeenCalled();
  });

  it('lifts the cap while any bulk work runs, and puts it back when the last one ends', () => {
    capHeapGrowth(20);
    jest.clearAllMocks();
    const first = liftHeapCap();
    const second = liftHeapCap();
    expect(v8.setFlagsFromString).toHaveBeenCalledTimes(1);
    expect(v8.setFlagsFromString).toHaveBeenLastCalledWith('--heap-growing-percent=0');
    first();
    first();
    expect(v8.setFlagsFromString).toHaveBeenCalledTimes(1);
    second();
    expect(v8.setFlagsFromString).toHaveBeenCalledTimes(2);
    expect(v8.setFlagsFromString).toHaveBeenLastCalledWith('--heap-growing-percent=20');
  });

  it('touches nothing when no cap is configured', () => {
    liftHeapCap()();
    expect(v8.setFlagsFromString).not.toHaveBeenCalled();
  });
});
