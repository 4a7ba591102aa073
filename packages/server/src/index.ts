export { startThingstead, StartupError, type StartOptions, type Thingstead } from './main';
export { loadConfig, ConfigError, type LoadOptions } from './config/load';
export type { Config } from './config/schema';
