import { ValueTransformer } from 'typeorm';

/** STRICT tables have no date type: instants are stored as integer milliseconds since the epoch. */
export const epochMs: ValueTransformer = {
  to: (value?: Date | null) => (value == null ? value : value.getTime()),
  from: (value?: number | null) => (value == null ? value : new Date(Number(value))),
};
