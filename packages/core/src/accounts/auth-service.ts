import type { Clock } from '../clock';
import { fail, ThingsteadError } from '../errors';
import { newId, randomSecret, sameHash, sha256 } from '../ids';
import type { Store } from '../store';
import { LoginThrottle } from './login-throttle';
import type { Principal, User } from './model';
import { verifyPassword } from './password';
import type { AccessTokenSigner } from './tokens';

export interface AuthOptions {
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  loginMaxFailures: number;
  loginLockoutSec: number;
  /** Delay before answering any login of an account with loginMaxFailures recent failures (from anywhere). */
  loginSlowdownMs: number;
}

export interface Session {
  token: string;
  refreshToken: string;
  expiresInSec: number;
  user: PublicUser;
}

export type PublicUser = Omit<User, 'passwordHash'>;

export const publicUser = ({ passwordHash: _, ...u }: User): PublicUser => u;

export const apiKeyPrefix = 'tsk_';

/** Compared against when the email is unknown, so a login takes as long whether or not the user exists. */
const dummyHash = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export class AuthService {
  /**
   * Guessing is throttled where the guesses come from, never by the account alone: a lockout per account
   * let anyone lock the real user out (24 wrong passwords from six addresses made the right password from a
   * new address answer 429 for 300 s, doubling). So: per email and source address (one attacker on one
   * account) and per source address with a 4x higher threshold (one address spraying many accounts), both
   * locking; per email alone only a delay, so guesses spread over many addresses slow down while the right
   * password from a clean address still gets in.
   */
  private readonly byAccountAndSource: LoginThrottle;
  private readonly bySource: LoginThrottle;
  private readonly byAccount: LoginThrottle;

  constructor(
    private readonly store: Store,
    private readonly signer: AccessTokenSigner,
    private readonly clock: Clock,
    private readonly o: AuthOptions,
  ) {
    const throttle = (maxFailures: number) =>
      new LoginThrottle(clock, { maxFailures, windowMs: o.loginLockoutSec * 1000, lockoutMs: o.loginLockoutSec * 1000, maxTracked: 100_000 });
    this.byAccountAndSource = throttle(o.loginMaxFailures);
    this.bySource = throttle(o.loginMaxFailures * 4);
    this.byAccount = throttle(Number.POSITIVE_INFINITY);
  }

  async login(email: string, password: string, remoteAddress: string): Promise<Session> {
    const normal = email.trim().toLowerCase();
    const accountSource = `${normal}|${remoteAddress}`;
    const wait = Math.max(this.byAccountAndSource.retryAfterMs(accountSource), this.bySource.retryAfterMs(remoteAddress));
    if (wait > 0) {
      throw new ThingsteadError('TOO_MANY_ATTEMPTS', undefined, { details: { retryAfterSec: Math.ceil(wait / 1000) } });
    }
    // Every attempt on an account under attack waits, the right password too: answering it faster would
    // tell a guesser which guess was right without waiting for the answer.
    if (this.byAccount.failures(normal) >= this.o.loginMaxFailures && this.o.loginSlowdownMs > 0) {
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, this.o.loginSlowdownMs));
    }
    const user = await this.store.users.findByEmail(normal);
    const ok = await verifyPassword(password, user?.passwordHash ?? dummyHash);
    if (!user || !ok) {
      this.byAccountAndSource.fail(accountSource);
      this.bySource.fail(remoteAddress);
      this.byAccount.fail(normal);
      return fail('INVALID_CREDENTIALS');
    }
    this.byAccountAndSource.succeed(accountSource);
    this.byAccount.succeed(normal);
    // The source's count stays: a success on an account of one's own must not reset guessing at others.
    if (user.disabled) return fail('ACCOUNT_DISABLED');
    return this.issue(user);
  }

  async refresh(refreshToken: string): Promise<Session> {
    const [id, secret] = refreshToken.split('.');
    const row = id && secret ? await this.store.refreshTokens.get(id) : undefined;
    const refused = 'The refresh token is invalid, expired or already used.';
    if (!row || !secret || !sameHash(row.secretHash, sha256(secret))) return fail('TOKEN_INVALID', refused);
    const now = this.clock.now();
    if (row.expiresAt <= now) return fail('TOKEN_INVALID', refused);
    // Rotation: a refresh token is good for one use. A second use means two parties hold it (it leaked), and
    // which one is the real user cannot be told: end every session descending from that login
    // (OAuth 2.0 Security BCP, RFC 9700 §4.14.2). revoke() is atomic, so two concurrent uses are caught too.
    if (row.revokedAt !== null || !(await this.store.refreshTokens.revoke(row.id, now))) {
      await this.store.refreshTokens.revokeFamily(row.familyId, now);
      return fail('TOKEN_INVALID', refused);
    }
    const user = await this.store.users.get(row.userId);
    if (!user) return fail('TOKEN_INVALID');
    if (user.disabled) return fail('ACCOUNT_DISABLED');
    return this.issue(user, row.familyId);
  }

  async logout(refreshToken: string): Promise<void> {
    const [id, secret] = refreshToken.split('.');
    const row = id ? await this.store.refreshTokens.get(id) : undefined;
    if (row && secret && sameHash(row.secretHash, sha256(secret))) await this.store.refreshTokens.revoke(row.id, this.clock.now());
  }

  /** Resolves a bearer credential (JWT or API key) to a principal, with the user's current role. */
  async authenticate(bearer: string): Promise<Principal> {
    if (bearer.startsWith(apiKeyPrefix)) return this.authenticateApiKey(bearer);
    let claims;
    try {
      claims = await this.signer.verify(bearer);
    } catch (cause) {
      throw new ThingsteadError('TOKEN_INVALID', undefined, { cause });
    }
    const user = await this.store.users.get(claims.userId);
    if (!user) return fail('TOKEN_INVALID', 'The user of this token no longer exists.');
    if (user.disabled) return fail('ACCOUNT_DISABLED');
    return {
      userId: user.id,
      tenantId: user.tenantId,
      role: user.role,
      via: 'jwt',
      ...(claims.expiresAt === undefined ? {} : { expiresAt: claims.expiresAt }),
    };
  }

  private async authenticateApiKey(key: string): Promise<Principal> {
    const [, id, secret] = /^tsk_([0-9a-f]{32})_([A-Za-z0-9_-]+)$/.exec(key) ?? [];
    const row = id ? await this.store.apiKeys.get(id) : undefined;
    if (!row || !secret || row.revokedAt !== null || !sameHash(row.secretHash, sha256(secret))) {
      return fail('TOKEN_INVALID', 'The API key is invalid or revoked.');
    }
    const user = await this.store.users.get(row.userId);
    if (!user) return fail('TOKEN_INVALID', 'The owner of this API key no longer exists.');
    if (user.disabled) return fail('ACCOUNT_DISABLED', 'The owner of this API key is disabled.');
    const now = this.clock.now();
    // Record use at most once a minute, so scripts polling fast do not write on every request.
    if (row.lastUsedAt === null || now - row.lastUsedAt > 60_000) await this.store.apiKeys.touch(row.id, now);
    return { userId: user.id, tenantId: user.tenantId, role: user.role, via: 'api-key', apiKeyId: row.id };
  }

  /** A new session; a refresh continues the family of the token it exchanged, a login starts one. */
  private async issue(user: User, familyId?: string): Promise<Session> {
    const now = this.clock.now();
    const id = newId();
    const secret = randomSecret(32);
    await this.store.refreshTokens.insert({
      id,
      userId: user.id,
      familyId: familyId ?? id,
      secretHash: sha256(secret),
      expiresAt: now + this.o.refreshTokenTtlSec * 1000,
      revokedAt: null,
    });
    const token = await this.signer.sign({ userId: user.id, tenantId: user.tenantId, role: user.role }, this.o.accessTokenTtlSec);
    return { token, refreshToken: `${id}.${secret}`, expiresInSec: this.o.accessTokenTtlSec, user: publicUser(user) };
  }
}
