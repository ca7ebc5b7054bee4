// The boundary check of every request: a channel's arguments are parsed by its schema
// (src/shared/contract/channels.ts) before any service sees them. `defineHandlers` turns a domain's
// parse-then-call functions into the contract's handlers, so a handler body only ever receives parsed,
// typed arguments, and a refused request fails as `ValidationError: <channel>: <path>: <what is wrong>`.
import { CHANNEL_SCHEMAS, type ParsedArgs } from '../../shared/contract/channels'
import { issuesLine } from '../../shared/contract/issues'
import type { Channel, HandlerArgs, HandlerResult } from '../../shared/ipc'
import { ValidationError } from '../errors'

/** The arguments of `channel` as its schema accepts them; throws ValidationError naming each bad field. */
export function parseArgs<C extends Channel>(channel: C, args: unknown): ParsedArgs<C> {
  const result = CHANNEL_SCHEMAS[channel].safeParse(args)
  if (!result.success) throw new ValidationError(`${channel}: ${issuesLine(result.error.issues, args)}`)
  return result.data as ParsedArgs<C>
}

/** One served channel: takes what a client sent, answers asynchronously. */
export type BackendHandler<C extends Channel> = (args: HandlerArgs<C>) => Promise<HandlerResult<C>>
/** The handlers of some channels (a domain's slice). */
export type HandlerSlice<K extends Channel> = { [C in K]: BackendHandler<C> }
/** What a domain writes per channel: a call on parsed arguments. */
export type HandlerImpl<C extends Channel> = (
  args: ParsedArgs<C>
) => HandlerResult<C> | Promise<HandlerResult<C>>

/** Wrap each implementation with its channel's schema parse. `K` names the slice's channels, all of them. */
export function defineHandlers<K extends Channel>(impls: { [C in K]: HandlerImpl<C> }): HandlerSlice<K> {
  const handlers: Partial<Record<Channel, (args: unknown) => Promise<unknown>>> = {}
  for (const channel of Object.keys(impls) as K[]) {
    const impl = impls[channel] as (args: unknown) => unknown
    handlers[channel] = async (args) => impl(parseArgs(channel, args))
  }
  return handlers as HandlerSlice<K>
}
