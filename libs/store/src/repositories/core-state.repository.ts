import { CoreStateEntity } from '../entities';
import { StoreDatabase } from '../store.database';

export interface ConfigFileState {
  writtenSeq: number | null;
  writtenAt: Date | null;
}

export class CoreStateRepository {
  constructor(private readonly db: StoreDatabase) {}

  async configFile(): Promise<ConfigFileState> {
    const row = await this.db.dataSource.getRepository(CoreStateEntity).findOneByOrFail({ id: 1 });
    return { writtenSeq: row.configWrittenSeq, writtenAt: row.configWrittenAt };
  }

  async recordConfigWrite(seq: number, at: Date): Promise<void> {
    await this.db.writes.run((m) =>
      m.getRepository(CoreStateEntity).update({ id: 1 }, { configWrittenSeq: seq, configWrittenAt: at }),
    );
  }
}
