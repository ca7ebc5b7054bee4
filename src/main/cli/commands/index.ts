// Every CLI command, in help order. A command is one file exporting `register(program, ctx)`; add new ones
// (train, evaluate, predict, export) here.
import type { Command } from 'commander'
import type { CliContext } from '../context'
import { register as importCommand } from './import'
import { register as info } from './info'
import { register as split } from './split'
import { register as serve } from './serve'
import { register as train } from './train'
import { register as evaluate } from './evaluate'
import { register as predict } from './predict'
import { register as exportCommand } from './export'
import { register as models } from './models'
import { register as features } from './features'
import { register as doctor } from './doctor'
import { register as review } from './review'

export const COMMANDS: ((program: Command, ctx: CliContext) => void)[] = [
  importCommand,
  info,
  split,
  train,
  evaluate,
  predict,
  exportCommand,
  models,
  features,
  review,
  serve,
  doctor
]
