// `npm start`: the shortest path from a fresh checkout to a running studio. Builds if needed, makes sure a
// project exists (by default ~/TransferStudio/Demo.tsproj, filled with generated demo signs when empty),
// then runs `transfer-studio serve` and prints the URL to open.
//
//   npm start                          the demo project
//   npm start -- --project my.tsproj   another project (created if missing, nothing imported)
//   npm start -- --port 8080           a fixed port (default: a free one)
//
// TRANSFER_STUDIO_HOME replaces ~/TransferStudio (tests, or keeping the demo elsewhere).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'bin', 'transfer-studio.js')

const { values } = parseArgs({
  options: { project: { type: 'string' }, port: { type: 'string', default: '0' }, help: { type: 'boolean' } }
})
if (values.help) {
  console.log('usage: npm start [-- --project <file.tsproj>] [--port <n>]')
  process.exit(0)
}

function fail(message) {
  console.error(`npm start: ${message}`)
  process.exit(1)
}

/** Run the CLI and return its stdout; any failure stops the script with the CLI's own message. */
function cli(args) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  if (r.status !== 0) fail(`\`transfer-studio ${args[0]}\` failed (exit code ${r.status})`)
  return r.stdout
}

// 0. `npm run desktop` rebuilds better-sqlite3 for Electron's ABI; the CLI needs the Node build back.
const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], {
  cwd: root,
  encoding: 'utf8'
})
if (probe.status !== 0 && /NODE_MODULE_VERSION|ERR_DLOPEN_FAILED/.test(probe.stderr)) {
  console.log('better-sqlite3 is built for Electron; rebuilding it for Node (npm rebuild better-sqlite3)...')
  const r = spawnSync('npm', ['rebuild', 'better-sqlite3'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32'
  })
  if (r.status !== 0) fail('`npm rebuild better-sqlite3` failed; see the messages above')
}

// 1. Build the app once (the CLI and the page both come from out/).
if (
  !existsSync(join(root, 'out', 'main', 'cli.js')) ||
  !existsSync(join(root, 'out', 'renderer', 'index.html'))
) {
  console.log('Building Transfer Studio (first run)...')
  const r = spawnSync('npx', ['electron-vite', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32'
  })
  if (r.status !== 0) fail('the build failed; see the messages above')
}

// 2. The project: the demo by default, filled with generated images the first time.
const home = resolve(process.env.TRANSFER_STUDIO_HOME ?? join(homedir(), 'TransferStudio'))
const project = resolve(values.project ?? join(home, 'Demo.tsproj'))
if (!values.project) {
  mkdirSync(home, { recursive: true })
  const empty = !existsSync(project) || JSON.parse(cli(['info', '--project', project, '--json'])).images === 0
  if (empty) {
    const demo = join(home, 'demo-images')
    if (!existsSync(demo) || readdirSync(demo).length === 0) {
      console.log(`Generating demo images in ${demo} ...`)
      await generateDemoImages(demo)
    }
    console.log(`Importing the demo images into ${project} ...`)
    const summary = JSON.parse(cli(['import', demo, '--project', project, '--json']))
    console.log(`  ${summary.imported} images in ${summary.classes.length} classes`)
  }
}

// 3. Serve until Ctrl+C; the child prints the URL.
const server = spawn(process.execPath, [bin, 'serve', '--project', project, '--port', values.port], {
  stdio: 'inherit'
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))

/**
 * Five classes of sign-like pictures, 20 each, drawn from SVG with sharp: varied size, position, rotation,
 * background and lighting, seeded so every machine gets the same set. Every fifth image is a binary PPM,
 * the format GTSRB uses, the rest PNG. Not GTSRB data: these are generated here.
 */
async function generateDemoImages(dir) {
  const { default: sharp } = await import('sharp')
  const random = mulberry32(20240611)
  const between = (a, b) => a + (b - a) * random()
  const signs = {
    stop: '<polygon points="-12,-29 12,-29 29,-12 29,12 12,29 -12,29 -29,12 -29,-12" fill="#c1121f" stroke="#fff" stroke-width="3"/><rect x="-18" y="-5" width="36" height="10" fill="#fff"/>',
    yield:
      '<polygon points="-30,-24 30,-24 0,28" fill="#fff" stroke="#c1121f" stroke-width="8" stroke-linejoin="round"/>',
    'no-entry':
      '<circle r="29" fill="#c1121f" stroke="#fff" stroke-width="2"/><rect x="-20" y="-5" width="40" height="10" fill="#fff"/>',
    'speed-limit':
      '<circle r="28" fill="#fff" stroke="#c1121f" stroke-width="7"/><rect x="-11" y="-11" width="8" height="22" fill="#111"/><rect x="3" y="-11" width="8" height="22" fill="#111"/>',
    'ahead-only':
      '<circle r="29" fill="#1d4ed8" stroke="#fff" stroke-width="2"/><polygon points="0,-20 12,-6 4,-6 4,20 -4,20 -4,-6 -12,-6" fill="#fff"/>'
  }
  const backgrounds = ['#87a96b', '#9db4c0', '#6b705c', '#b7b7a4', '#5e6472', '#a3b18a']
  for (const [name, shape] of Object.entries(signs)) {
    mkdirSync(join(dir, name), { recursive: true })
    for (let i = 0; i < 20; i++) {
      const size = 64
      const scale = between(0.55, 0.85)
      const cx = size / 2 + between(-5, 5)
      const cy = size / 2 + between(-5, 5)
      const angle = between(-10, 10)
      const background = backgrounds[Math.floor(random() * backgrounds.length)]
      const svg =
        `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">` +
        `<rect width="${size}" height="${size}" fill="${background}"/>` +
        `<rect y="${between(30, 60)}" width="${size}" height="${size}" fill="#000" opacity="${between(0, 0.25)}"/>` +
        `<g transform="translate(${cx} ${cy}) rotate(${angle}) scale(${scale})">${shape}</g></svg>`
      const image = sharp(Buffer.from(svg))
        .modulate({ brightness: between(0.6, 1.3) })
        .blur(between(0.3, 1.2))
      // GTSRB-style `track_frame` names: tracks of 4 shots, which `--group-by track` keeps in one split.
      const base = join(
        dir,
        name,
        `${String(Math.floor(i / 4)).padStart(5, '0')}_${String(i % 4).padStart(5, '0')}`
      )
      if (i % 5 === 4) {
        const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true })
        writeFileSync(
          `${base}.ppm`,
          Buffer.concat([Buffer.from(`P6\n${info.width} ${info.height}\n255\n`), data])
        )
      } else {
        await image.png().toFile(`${base}.png`)
      }
    }
  }
}

/** Small seeded PRNG (public-domain mulberry32), so the demo set is reproducible. */
function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
