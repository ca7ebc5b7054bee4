// Input checks for the IPC boundary: every handler argument is checked here before a service sees it, and
// a bad value fails with a message that names the channel and the field.
export class ValidationError extends Error {
  override name = 'ValidationError'
}

/** A thing named by an argument (image, class, run) does not exist; the server answers 404. */
export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

export class Check {
  constructor(
    private readonly channel: string,
    private readonly args: unknown
  ) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new ValidationError(`${channel}: arguments must be an object`)
    }
  }

  private get obj(): Record<string, unknown> {
    return this.args as Record<string, unknown>
  }

  fail(field: string, what: string): never {
    throw new ValidationError(`${this.channel}: ${field} ${what}`)
  }

  string(field: string, opts: { optional?: boolean; nonEmpty?: boolean; max?: number } = {}): string {
    const v = this.obj[field]
    if (v === undefined && opts.optional) return undefined as unknown as string
    if (typeof v !== 'string') this.fail(field, 'must be a string')
    if (opts.nonEmpty && v.trim() === '') this.fail(field, 'must not be empty')
    if (opts.max !== undefined && v.length > opts.max)
      this.fail(field, `must be at most ${opts.max} characters`)
    return v
  }

  int(
    field: string,
    opts: { min?: number; max?: number; optional?: boolean; nullable?: boolean } = {}
  ): number {
    const v = this.obj[field]
    if (v === undefined && opts.optional) return undefined as unknown as number
    if (v === null && opts.nullable) return null as unknown as number
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, 'must be an integer')
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be >= ${opts.min}`)
    if (opts.max !== undefined && v > opts.max) this.fail(field, `must be <= ${opts.max}`)
    return v
  }

  number(field: string, min: number, max: number): number {
    const v = this.obj[field]
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'must be a number')
    if (v < min || v > max) this.fail(field, `must be between ${min} and ${max}`)
    return v
  }

  bool(field: string): boolean | undefined {
    const v = this.obj[field]
    if (v !== undefined && typeof v !== 'boolean') this.fail(field, 'must be true or false')
    return v as boolean | undefined
  }

  oneOf<T extends string>(field: string, values: readonly T[], optional = false): T {
    const v = this.obj[field]
    if (v === undefined && optional) return undefined as unknown as T
    if (typeof v !== 'string' || !values.includes(v as T))
      this.fail(field, `must be one of ${values.join(', ')}`)
    return v as T
  }

  intArray(field: string, opts: { optional?: boolean; maxLength?: number } = {}): number[] {
    const v = this.obj[field]
    if (v === undefined && opts.optional) return undefined as unknown as number[]
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      this.fail(field, 'must be an array of non-negative integers')
    }
    if (opts.maxLength !== undefined && v.length > opts.maxLength)
      this.fail(field, `must have at most ${opts.maxLength} items`)
    return v
  }

  /** A nested object, checked with its own Check (field names are prefixed). */
  object(field: string, optional = false): Check {
    const v = this.obj[field]
    if (v === undefined && optional) return new Check(`${this.channel}: ${field}`, {})
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'must be an object')
    return new Check(`${this.channel}: ${field}`, v)
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined
  }
}
