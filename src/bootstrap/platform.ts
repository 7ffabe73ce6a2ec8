import type { Db } from '../../db/client';
import { platform } from '../../db/schema';

/** The single platform row every agency hangs from; created on first start. */
export async function ensurePlatform(db: Db, name = 'Kontor'): Promise<void> {
  await db.insert(platform).values({ id: 'plt_default', name }).onConflictDoNothing();
}
