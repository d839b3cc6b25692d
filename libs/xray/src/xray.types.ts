export interface CoreUser {
  email: string;
  uuid: string;
  flow: string;
  level: number;
}

/** Both outcomes are success: the core holds the user afterwards. */
export type AddUserOutcome = 'added' | 'already_exists';
/** Both outcomes are success: the core does not hold the user afterwards. */
export type RemoveUserOutcome = 'removed' | 'not_found';

export interface CoreSysStats {
  uptimeSeconds: number;
}

export interface CoreStat {
  name: string;
  value: number;
}

/** One user's traffic counters, as GetUsersStats answers them; a counter the core lacks reads 0. */
export interface CoreUserTraffic {
  email: string;
  uplink: number;
  downlink: number;
}

export type CoreOperation = 'add_user' | 'remove_user' | 'sys_stats' | 'list_users' | 'query_stats' | 'users_stats';

/** Receives every call's outcome, for metrics. */
export interface CoreCallListener {
  onCoreCall(operation: CoreOperation, result: string, seconds: number): void;
}
