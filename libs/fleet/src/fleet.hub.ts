import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { KeyEvents } from '@keyd/keys';
import { FleetNodeRecord } from '@keyd/store';

/** What an agent last reported of its core. */
export interface AgentReportState {
  pendingKeys: number;
  coreReachable: boolean;
  coreUptimeSeconds: number;
  coreRestarts: number;
}

/** An open agent link, as the hub drives it. */
export interface AgentSession {
  readonly nodeId: number;
  /** There may be new changes for the node: send them. */
  kick(): void;
  /** End the link, so that the agent reconnects and is served afresh (its node changed). */
  close(): void;
}

interface Waiter {
  done: () => boolean;
  resolve: () => void;
}

/**
 * The live side of the fleet: which agents are connected, what they
 * acknowledged and reported. Grants wait here for the acknowledgements of the
 * connected agents of their group; a node without a link is never waited for.
 * Every key change kicks the open links, so that each sends what is new.
 */
@Injectable()
export class FleetHub implements OnApplicationBootstrap {
  private readonly sessions = new Map<number, AgentSession>();
  private kickQueued = false;
  private readonly acked = new Map<number, number>();
  private readonly reports = new Map<number, AgentReportState>();
  private readonly seen = new Map<number, Date>();
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly events: KeyEvents) {}

  onApplicationBootstrap(): void {
    const kick = () => this.kickSoon();
    this.events.on('changed', kick);
    this.events.on('extended', kick);
    this.events.on('deviceLimit', kick);
  }

  attach(session: AgentSession, now: Date): void {
    this.sessions.get(session.nodeId)?.close();
    this.sessions.set(session.nodeId, session);
    this.seen.set(session.nodeId, now);
    this.settle();
  }

  detach(session: AgentSession, now: Date): void {
    if (this.sessions.get(session.nodeId) !== session) return;
    this.sessions.delete(session.nodeId);
    this.seen.set(session.nodeId, now);
    this.settle();
  }

  isConnected(nodeId: number): boolean {
    return this.sessions.has(nodeId);
  }

  lastSeen(nodeId: number): Date | undefined {
    return this.seen.get(nodeId);
  }

  ack(nodeId: number, rev: number, now: Date): void {
    this.acked.set(nodeId, Math.max(rev, this.acked.get(nodeId) ?? 0));
    this.seen.set(nodeId, now);
    this.settle();
  }

  report(nodeId: number, report: AgentReportState, now: Date): void {
    this.reports.set(nodeId, report);
    this.seen.set(nodeId, now);
  }

  reportOf(nodeId: number): AgentReportState | undefined {
    return this.reports.get(nodeId);
  }

  /** The revision the node acknowledged: this process's latest, or the stored one. */
  ackedRev(node: FleetNodeRecord): number {
    return Math.max(this.acked.get(node.id) ?? 0, node.ackedRev);
  }

  /** Whether the node's core reflects a change at rev (a regrouped node only once it followed its snapshot). */
  holds(node: FleetNodeRecord, rev: number): boolean {
    return this.ackedRev(node) >= Math.max(rev, node.resyncRev);
  }

  /** Coalesces a burst of key events into one kick of every link. */
  private kickSoon(): void {
    if (this.kickQueued) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      for (const s of this.sessions.values()) s.kick();
    });
  }

  close(nodeId: number): void {
    this.sessions.get(nodeId)?.close();
  }

  forget(nodeId: number): void {
    this.close(nodeId);
    this.acked.delete(nodeId);
    this.reports.delete(nodeId);
    this.seen.delete(nodeId);
  }

  /**
   * Resolves when every node that is connected has acknowledged rev, or after
   * timeoutMs. A node that disconnects meanwhile stops being waited for.
   */
  async waitFor(nodes: FleetNodeRecord[], rev: number, timeoutMs: number): Promise<void> {
    const done = () => nodes.every((n) => !this.sessions.has(n.id) || this.holds(n, rev));
    if (done() || timeoutMs <= 0) return;
    await new Promise<void>((resolve) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private settle(): void {
    for (const w of [...this.waiters]) if (w.done()) w.resolve();
  }
}
