import { DeviceTable } from './device.table';

const WINDOW = 1000;

describe('DeviceTable', () => {
  it('counts an address while it was seen within the window, and forgets it once expired', () => {
    const t = new DeviceTable({ maxEmails: 10, maxPerEmail: 10 });
    t.touch('a', '10.0.0.1', 0, -WINDOW);
    t.touch('a', '10.0.0.2', 500, 500 - WINDOW);
    expect(t.current('a', 900 - WINDOW).map((d) => d.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(t.current('a', 1200 - WINDOW).map((d) => d.address)).toEqual(['10.0.0.2']);
    expect(t.isCurrent('a', '10.0.0.1', 1200 - WINDOW)).toBe(false);
    // Kept until expired, so a refresh can still recognise it.
    expect(t.has('a', '10.0.0.1')).toBe(true);
    t.expire(1200 - WINDOW);
    expect(t.has('a', '10.0.0.1')).toBe(false);
    expect(t.has('a', '10.0.0.2')).toBe(true);
    t.expire(2000);
    expect(t.emails).toBe(0);
  });

  it('keeps first_seen while the address stays current, and starts over once its window passed', () => {
    const t = new DeviceTable({ maxEmails: 10, maxPerEmail: 10 });
    t.touch('a', '10.0.0.1', 0, -WINDOW);
    t.touch('a', '10.0.0.1', 800, 800 - WINDOW);
    expect(t.current('a', 0)).toEqual([{ address: '10.0.0.1', firstSeen: 0, lastSeen: 800 }]);
    t.touch('a', '10.0.0.1', 3000, 3000 - WINDOW);
    expect(t.current('a', 0)).toEqual([{ address: '10.0.0.1', firstSeen: 3000, lastSeen: 3000 }]);
  });

  it('stays within its caps, dropping the least recently seen address and key first', () => {
    const t = new DeviceTable({ maxEmails: 3, maxPerEmail: 2 });
    t.touch('a', '10.0.0.1', 1, 0);
    t.touch('a', '10.0.0.2', 2, 0);
    t.touch('a', '10.0.0.1', 3, 0);
    t.touch('a', '10.0.0.3', 4, 0);
    expect(t.current('a', 0).map((d) => d.address)).toEqual(['10.0.0.1', '10.0.0.3']);
    for (const e of ['b', 'c', 'd']) t.touch(e, '10.0.1.1', 5, 0);
    expect(t.emails).toBe(3);
    expect(t.current('a', 0)).toEqual([]);
    t.forget('b');
    expect(t.current('b', 0)).toEqual([]);
    expect(t.emails).toBe(2);
  });
});
