export { Broker, type BrokerEvents, type BrokerStats, type ServerPublish, type SessionInfo } from './broker';
export type { ConnectionMeta, DisconnectReason } from './client';
export type { Message, MessageProperties, QoS } from './message';
export {
  defaultLimits,
  type AuthenticateRequest,
  type AuthorizeResult,
  type AuthResult,
  type BrokerHooks,
  type BrokerLimits,
  type BrokerOptions,
  type Client,
  type Clock,
  type ForwardRequest,
  type ForwardResult,
  maxMountPointLength,
  type PublishVerdict,
  type Subscriber,
  type PublishRequest,
  type SubscribeRequest,
} from './options';
export type * from './persistence/persistence';
export { MemoryPersistence } from './persistence/memory/memory-persistence';
export { brokerSchemaVersion, PersistenceVersionError, SqlitePersistence, type SqlitePersistenceOptions } from './persistence/sqlite/sqlite-persistence';
export { BrokerError, brokerErrorHints, ConnackReturnCode, ReasonCode, toV3ConnackCode, type BrokerErrorCode } from './reason-codes';
export type { MatchResult, Router, SharedGroup, Subscription } from './router';
export { SubscriptionTrie } from './subscription-trie';
export { topicMatches } from './topic';
export { handleWebSocket, listenTcp, listenTls, selectMqttSubprotocol, type Listener, type ListenOptions, type TlsListenOptions } from './listeners';
export { filterCovers, parseAcl, type Acl } from './acl';
export { parsePasswordFile, type PasswordFile } from './password-file';
export { startStandaloneBroker, type StandaloneBroker, type StandaloneOptions } from './standalone';
