import { CoreStateEntity } from '../entities';
import { internalsOf, StoreDatabase } from '../store.database';

export interface ConfigFileState {
  writtenSeq: number | null;
  writtenAt: Date | null;
  /** What the writer recorded to recognise the file it left; opaque to the store. */
  stamp: string | null;
}

export class CoreStateRepository {
  constructor(private readonly db: StoreDatabase) {}

  async configFile(): Promise<ConfigFileState> {
    const row = await internalsOf(this.db).source.getRepository(CoreStateEntity).findOneByOrFail({ id: 1 });
    return { writtenSeq: row.configWrittenSeq, writtenAt: row.configWrittenAt, stamp: row.configFileStamp };
  }

  async recordConfigWrite(seq: number, at: Date, stamp: string | null = null): Promise<void> {
    await internalsOf(this.db).writes.run((m) =>
      m
        .getRepository(CoreStateEntity)
        .update({ id: 1 }, { configWrittenSeq: seq, configWrittenAt: at, configFileStamp: stamp }),
    );
  }
}
