import { Injectable } from '@nestjs/common';
import { FleetNodeRecord, FleetRepository } from '@keyd/store';

/**
 * The node rows, cached: every key answer lists its nodes, and the rows
 * change only through NodeService, which refreshes the cache.
 */
@Injectable()
export class NodeDirectory {
  private cached: Promise<FleetNodeRecord[]> | null = null;

  constructor(private readonly repo: FleetRepository) {}

  all(): Promise<FleetNodeRecord[]> {
    this.cached ??= this.repo.list().catch((e: unknown) => {
      this.cached = null;
      throw e;
    });
    return this.cached;
  }

  async agents(): Promise<FleetNodeRecord[]> {
    return (await this.all()).filter((n) => n.kind === 'agent');
  }

  /** The agent nodes that hold a group's keys. */
  async ofGroup(group: string): Promise<FleetNodeRecord[]> {
    return (await this.agents()).filter((n) => n.group === group && n.enabled && !n.draining);
  }

  invalidate(): void {
    this.cached = null;
  }
}
