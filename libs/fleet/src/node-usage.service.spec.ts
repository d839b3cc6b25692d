import { AppLogger } from '@keyd/observability';
import { UsageRepository } from '@keyd/store';
import { FleetMetrics } from './fleet.metrics';
import { NodeUsageService, UsageReportRefused } from './node-usage.service';
import { agentNode } from './testing/node.fixture';

describe('NodeUsageService', () => {
  const applyNodeUsage = jest.fn(() => Promise.resolve({ appliedUpTo: 2, applied: 2, suspended: [] }));
  const converge = jest.fn(() => Promise.resolve(0));
  const metrics = { usageEntries: { inc: jest.fn() } } as unknown as FleetMetrics;
  const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  const service = new NodeUsageService(
    { applyNodeUsage } as unknown as UsageRepository,
    { converge } as never,
    metrics,
    { now: () => new Date(0) },
    log,
  );
  const entry = (id: number, uplink = 1, downlink = 1) => ({ id, uuid: 'u', uplink, downlink });
  beforeEach(() => applyNodeUsage.mockClear());

  it('applies a well-formed report and answers with what the node may forget', async () => {
    await expect(service.apply(agentNode({}), { stream: 'ab12', entries: [entry(1), entry(2)] })).resolves.toEqual({
      stream: 'ab12',
      up_to_id: 2,
    });
    expect(applyNodeUsage).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['ids out of order', { stream: 'ab', entries: [entry(2), entry(1)] }],
    ['a repeated id', { stream: 'ab', entries: [entry(1), entry(1)] }],
    ['id 0', { stream: 'ab', entries: [entry(0)] }],
    ['bytes below zero', { stream: 'ab', entries: [entry(1, -1)] }],
    ['more than 2^48 bytes in one entry', { stream: 'ab', entries: [entry(1, 1, 2 ** 48 + 1)] }],
    ['a stream that is not hex', { stream: 'x; DROP', entries: [entry(1)] }],
    ['more than 1000 entries', { stream: 'ab', entries: Array.from({ length: 1001 }, (_, i) => entry(i + 1)) }],
  ])('refuses %s and applies nothing', async (_what, report) => {
    await expect(service.apply(agentNode({}), report)).rejects.toBeInstanceOf(UsageReportRefused);
    expect(applyNodeUsage).not.toHaveBeenCalled();
  });
});
