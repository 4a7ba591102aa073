import { canWrite, requireReadable } from '../access';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import { newId, randomSecret, sha256 } from '../ids';
import type { Store } from '../store';
import { cleanName } from '../validate';
import { apiKeyPrefix } from './auth-service';
import type { ApiKey, Principal } from './model';

export type PublicApiKey = Omit<ApiKey, 'secretHash'>;

/** Active keys per user: keys are cheap to create, so their number is bounded like any other input. */
export const maxApiKeysPerUser = 100;

const publicKey = ({ secretHash: _, ...k }: ApiKey): PublicApiKey => k;

/**
 * API keys for scripts. A key acts as its owner with the owner's current role. Users manage their own keys;
 * a tenant admin sees and revokes every key of the tenant.
 */
export class ApiKeyService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
  ) {}

  /** Returns the key itself once; only its hash is stored. */
  async create(p: Principal, input: { name: string }): Promise<PublicApiKey & { key: string }> {
    const active = (await this.store.apiKeys.list({ tenantId: p.tenantId, userId: p.userId })).filter((k) => k.revokedAt === null).length;
    if (active >= maxApiKeysPerUser) fail('LIMIT_REACHED', `You have ${active} active API keys, the most allowed; revoke unused ones first.`);
    const id = newId().replaceAll('-', '');
    const secret = randomSecret(32);
    const key = `${apiKeyPrefix}${id}_${secret}`;
    const row: ApiKey = {
      id,
      tenantId: p.tenantId,
      userId: p.userId,
      name: cleanName(input.name),
      prefix: key.slice(0, 12),
      secretHash: sha256(secret),
      createdAt: this.clock.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.apiKeys.insert(row);
    return { ...publicKey(row), key };
  }

  async list(p: Principal): Promise<PublicApiKey[]> {
    const all = canWrite(p, p.tenantId);
    const rows = await this.store.apiKeys.list(all ? { tenantId: p.tenantId } : { tenantId: p.tenantId, userId: p.userId });
    return rows.map(publicKey);
  }

  async revoke(p: Principal, id: string): Promise<void> {
    const key = requireReadable(p, await this.store.apiKeys.get(id), 'API key');
    if (key.userId !== p.userId && !canWrite(p, key.tenantId)) fail('NOT_FOUND', 'API key not found.');
    if (key.revokedAt === null) {
      await this.store.apiKeys.revoke(id, this.clock.now());
      await this.bus.publish('apikey.revoked', { keyId: id, userId: key.userId, tenantId: key.tenantId });
    }
  }
}
