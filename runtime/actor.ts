// What an actor is: a factory that receives its context and configuration and returns a behaviour. The behaviour
// handles one message at a time from its typed inbox (a discriminated union declared in the actor's protocol.ts).
//
// The runtime decides where the actor runs (its own worker thread by default, or with others on one thread under a
// deterministic scheduler in tests); the actor cannot tell the difference, because time, randomness, disk and the
// other actors reach it only through the context.
import type { Clock } from './clock.js';
import type { Disk } from './disk.js';
import type { Logger } from './log.js';
import type { Random } from './random.js';

export interface Message {
  readonly type: string;
}

/** An actor's inbox plus the reply type of each message that is asked rather than told. */
export interface Protocol<In extends Message = Message, Replies extends { [K in In['type']]?: unknown } = {}> {
  inbox: In;
  replies: Replies;
}

export type AnyProtocol = Protocol<any, any>;

export type ReplyOf<P extends AnyProtocol, T extends string> = T extends keyof P['replies'] ? P['replies'][T] : void;

export interface AskOptions {
  timeoutMs?: number;
}

/** A handle on another actor. */
export interface ActorRef<P extends AnyProtocol> {
  readonly name: string;
  /**
   * Sends without waiting. Returns false (and sends nothing) when the receiver's mailbox is at its limit or it is gone.
   * A message is copied to an actor on another thread and handed over as is to one on the same thread: either way,
   * neither side may change it (or what it holds) once it is sent. The same goes for replies.
   */
  tell(message: P['inbox']): boolean;
  /** Sends and waits for the reply. Rejects with MailboxFullError, AskTimeoutError, RemoteError or ActorUnavailableError. */
  ask<M extends P['inbox']>(message: M, options?: AskOptions): Promise<ReplyOf<P, M['type']>>;
  /** True while a tell would be accepted. */
  writable(): boolean;
  /**
   * Resolves once the receiver's mailbox is below its limit again, and at once when the receiver is gone: a sender
   * that retries after it must check gone() first, or it spins.
   */
  whenWritable(): Promise<void>;
  /** True when there is no open link to the receiver (it stopped or crashed): tells are refused and never delivered. */
  gone(): boolean;
  /** Messages sent to this actor and not yet handled by it. */
  pending(): number;
}

export interface ActorContext {
  readonly name: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly disk: Disk;
  readonly log: Logger;
  ref<P extends AnyProtocol>(name: string): ActorRef<P>;
  /** Names of every actor this one can reach. */
  peers(): readonly string[];
  /** Reports a fatal error to the supervisor (the same as throwing from a tell handler). */
  fail(error: unknown): void;
  /**
   * Sends what this actor has told or asked so far now, rather than when its turn ends. For an actor that gathers
   * work from outside the runtime (a socket) and has batched it itself: without this its batch would wait for one
   * more round of the event loop.
   */
  flush(): void;
}

/** Who sent a message. */
export interface Sender {
  readonly name: string;
}

export interface Behaviour<In extends Message = Message> {
  /**
   * Handles one message. For an ask the return value (or the value its promise resolves to) is the reply; a thrown
   * error or rejected promise goes back to the asker as a RemoteError. A tell handler that throws crashes the actor.
   */
  receive(message: In, sender: Sender, isAsk: boolean): unknown;
  /** Called once after every turn in which at least one message arrived: the place to act on a whole batch. */
  endOfTurn?(): void;
  /** Closes resources. Called after the mailbox has been drained during a graceful stop. */
  stop?(): void | Promise<void>;
}

export type ActorFactory<P extends AnyProtocol = AnyProtocol, Config = unknown> = (
  context: ActorContext,
  config: Config,
) => Behaviour<P['inbox']> | Promise<Behaviour<P['inbox']>>;

export interface ActorModule<P extends AnyProtocol = AnyProtocol, Config = unknown> {
  default: ActorFactory<P, Config>;
}

/** Identity helper that gives an actor module's default export its types. */
export function defineActor<P extends AnyProtocol, Config = unknown>(factory: ActorFactory<P, Config>): ActorFactory<P, Config> {
  return factory;
}
