import type { AttributeService } from '../attributes/attribute-service';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { RpcService } from './rpc-service';

/**
 * The platform methods every device may call (device-to-server RPC), documented in docs/reference/rpc.md:
 * `getCurrentTime` ({"time": ms}) for devices without a clock source, and `getSharedAttributes` (params
 * {"keys": [...]} or none) for a device's configuration.
 */
export function registerPlatformMethods(rpc: RpcService, o: { clock: Clock; attributes: AttributeService }): void {
  rpc.register('getCurrentTime', () => ({ time: o.clock.now() }));
  rpc.register('getSharedAttributes', async (device, params) => {
    const keys = (params as { keys?: unknown } | null)?.keys;
    if (keys !== undefined && (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')))
      fail('RPC_INVALID', 'params.keys must be an array of attribute keys.');
    return (await o.attributes.forDevice(device, { clientKeys: [], sharedKeys: keys })).shared;
  });
}
