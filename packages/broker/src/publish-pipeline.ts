import type { IPublishPacket } from 'mqtt-packet';
import { pauseHooks, type Client, type Counters } from './client';
import { Deque } from './deque';
import type { Message } from './message';
import type { BrokerHooks, BrokerLimits } from './options';
import { ReasonCode } from './reason-codes';

export interface Verdict {
  reasonCode: number;
  reasonString?: string;
  /** 3.1.1 cannot refuse a PUBLISH: a failed hook closes the connection instead of acknowledging. */
  disconnect?: boolean;
  /** onPublish consumed the message: acknowledged, not routed. */
  route?: false;
}

interface Entry {
  qos: number;
  verdict: Verdict | undefined;
  done: (verdict: Verdict) => void;
}

const consumed: Verdict = Object.freeze({ reasonCode: ReasonCode.Success, route: false });

function refusalCode(result: boolean | number): number | undefined {
  if (result === true) return undefined;
  if (result === false) return ReasonCode.NotAuthorized;
  return result >= 0x80 ? result : undefined;
}

/** What the pipeline needs of the broker. */
export interface PipelineContext {
  readonly hooks: BrokerHooks;
  readonly limits: Readonly<BrokerLimits>;
  readonly counters: Counters;
  hookError(error: unknown, client: Client): void;
}

/**
 * Runs the authorizePublish/onPublish hooks for one client's PUBLISH packets. Hooks run
 * concurrently (so the platform can commit many messages in one transaction), but messages are
 * routed in arrival order [MQTT-4.6.0-5] (v5) / [MQTT-4.6.0-6] (3.1.1) and acknowledged in arrival
 * order (§4.6 asks it of Clients; the broker keeps it too), only after their hook
 * resolved. Too many pending calls pause reading the client's socket.
 */
export class PublishPipeline {
  private readonly entries = new Deque<Entry>();
  private readonly broker: PipelineContext;
  private readonly client: Client;

  constructor(broker: PipelineContext, client: Client) {
    this.broker = broker;
    this.client = client;
  }

  /** `clientTopic` is the topic as the client sent it (the message's without the mount point), what hooks see. */
  add(packet: IPublishPacket, message: Message, clientTopic: string, done: (verdict: Verdict) => void): void {
    const entry: Entry = { qos: packet.qos, verdict: undefined, done };
    this.entries.push(entry);
    this.client.pendingHookCalls++;
    if (packet.qos > 0) this.client.pendingInbound++;
    if (this.client.pendingHookCalls >= this.broker.limits.maxPendingMessagesPerClient) this.client.pauseReading(pauseHooks);
    this.evaluate(message, clientTopic)
      .then((verdict) => {
        entry.verdict = verdict;
        this.flush();
      })
      .catch((error: unknown) => {
        this.client.fault(error);
      });
  }

  private async evaluate(message: Message, clientTopic: string): Promise<Verdict> {
    const { authorizePublish, onPublish } = this.broker.hooks;
    // The hooks see the topic as the client sent it (ADR 0005).
    const request = {
      topic: clientTopic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      properties: message.properties,
    };
    try {
      if (authorizePublish !== undefined) {
        const refused = refusalCode(await authorizePublish(this.client, request));
        if (refused !== undefined) return { reasonCode: refused, reasonString: 'not authorized' };
      }
      if (onPublish !== undefined) {
        const result = await onPublish(this.client, request);
        if (result !== undefined) {
          if ('route' in result) return consumed;
          if (result.reasonCode >= 0x80) return result;
        }
      }
      return { reasonCode: ReasonCode.Success };
    } catch (error) {
      this.broker.hookError(error, this.client);
      return { reasonCode: ReasonCode.UnspecifiedError, reasonString: 'message not accepted', disconnect: this.client.protocolVersion !== 5 };
    }
  }

  private flush(): void {
    const client = this.client;
    for (let head = this.entries.peek(); head?.verdict !== undefined; head = this.entries.peek()) {
      this.entries.shift();
      client.pendingHookCalls--;
      if (head.qos > 0) client.pendingInbound--;
      if (head.verdict.disconnect === true) {
        this.broker.counters.messagesRefused++;
        client.terminate(ReasonCode.UnspecifiedError, head.verdict.reasonString ?? 'message not accepted');
      } else {
        head.done(head.verdict);
      }
    }
    if (client.pendingHookCalls < this.broker.limits.maxPendingMessagesPerClient) client.resumeReading(pauseHooks);
  }
}
