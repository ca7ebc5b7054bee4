// Turns a schema's refusal into one readable line, `<path>: <what is wrong>` per problem, e.g.
// `config.learningRate: must be a number, got string`. Written for people reading an error in the UI or a
// log, so it says what the field must be rather than echoing the schema library's wording.
import type { z } from 'zod'

type Issue = z.core.$ZodIssue
type Key = PropertyKey

/** At most this many problems are listed; the rest are counted. */
const MAX_LISTED = 5

/** `config.model.width`, `files[2].name`; the root is `arguments`. */
export function formatPath(path: readonly Key[]): string {
  let out = ''
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`
    else out += out ? `.${String(k)}` : String(k)
  }
  return out || 'arguments'
}

/** Every problem of a refused value, as `path: what` strings. */
export function describeIssues(issues: readonly Issue[], input: unknown): string[] {
  const out: string[] = []
  for (const issue of issues) collect(issue, [], input, out)
  return out
}

/** The problems joined into one line (the first MAX_LISTED, then how many more). */
export function issuesLine(issues: readonly Issue[], input: unknown): string {
  const all = describeIssues(issues, input)
  const shown = all.slice(0, MAX_LISTED)
  if (all.length > MAX_LISTED) shown.push(`and ${all.length - MAX_LISTED} more`)
  return shown.join('; ')
}

function collect(issue: Issue, prefix: readonly Key[], input: unknown, out: string[]): void {
  const path = [...prefix, ...issue.path]
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push(`${formatPath([...path, key])}: is not a known field`)
      return
    case 'invalid_union': {
      if (issue.errors.length === 0) {
        // A discriminated union whose tag matched no variant (the path ends at the tag).
        const options = (issue as { options?: unknown[] }).options
        out.push(
          `${formatPath(path)}: ${options ? `must be one of ${options.map(String).join(', ')}` : issue.message}`
        )
        return
      }
      // Report the variant that came closest (fewest problems): that is the one the sender meant.
      const closest = issue.errors.reduce((a, b) => (b.length < a.length ? b : a))
      for (const sub of closest) collect(sub, path, input, out)
      return
    }
    default:
      out.push(`${formatPath(path)}: ${what(issue, valueAt(input, path))}`)
  }
}

function what(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'null') return issue.message
      return `must be ${noun(issue.expected)}, got ${kindOf(value)}`
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1
          ? 'must not be empty'
          : `must be at least ${issue.minimum} characters`
      if (issue.origin === 'array' || issue.origin === 'set')
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must have at least ${issue.minimum} items`
      return `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have at most ${issue.maximum} items`
      return `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`
    default:
      return issue.message
  }
}

function noun(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer'
    case 'boolean':
      return 'true or false'
    case 'object':
    case 'array':
      return `an ${expected}`
    default:
      return `a ${expected}`
  }
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value)
  return typeof value
}

function valueAt(input: unknown, path: readonly Key[]): unknown {
  let v = input
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<Key, unknown>)[k]
  }
  return v
}
