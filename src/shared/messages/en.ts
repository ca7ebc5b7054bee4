// The backend's user-facing messages in English, one flat key per message, in vue-i18n syntax: `{name}` is a
// parameter. The backend formats these for the CLI and for `message`; the renderer merges them under
// `errors.*` and shows the user's language (src/shared/messages/index.ts). Keep `@ | { }` out of the text
// except for placeholders: vue-i18n reads them as syntax.
export const en = {
  internal: "internal error (id {id}); the details are in the app's log",
  detail: '{detail}',

  // SQLite and file-system sentences (src/main/errors/userError.ts).
  'sqlite.busy': 'the project is busy in another program; try again',
  'sqlite.readonly':
    'the project is open read-only (its file or folder cannot be written); copy it or change its permissions to make changes',
  'sqlite.corrupt': 'the project file is damaged; restore it from a backup',
  'sqlite.notadb': 'not a Transfer Studio project (the file is not an SQLite database)',
  'sqlite.full': 'the disk is full; free some space and try again',
  'sqlite.ioerr':
    'the project file could not be read or written (a disk error); check the disk and try again',
  'sqlite.cantopen': 'the project file cannot be opened; check that it and its folder exist and can be read',
  'sqlite.perm': 'permission denied: the project file cannot be changed',
  'sqlite.nomem': 'out of memory while working on the project; close other programs and try again',
  'sqlite.toobig': 'a value is too large to store in the project',
  'sqlite.interrupt': 'the operation was interrupted; try again',
  'sqlite.readonlyDirectory':
    "the project's folder cannot be written, and SQLite needs to keep its lock files beside the project; copy the project to a folder you can write",
  'sqlite.readonlyCantinit':
    "the project's lock file (-shm) cannot be written; copy the project to a folder you can write",
  'sqlite.readonlyDbmoved': 'the project file was moved or deleted while open; open it again',
  'fs.notFound': 'file not found: "{name}"',
  'fs.notFoundAnon': 'file not found',
  'fs.permission': 'permission denied: "{name}" cannot be read or changed by this app',
  'fs.permissionAnon': 'permission denied: the file cannot be read or changed by this app',
  'fs.isDir': '"{name}" is a folder, not a file',
  'fs.isDirAnon': 'the file is a folder, not a file',
  'fs.notDir': '"{name}" is not a folder',
  'fs.notDirAnon': 'the path is not a folder',
  'fs.full': 'the disk is full (writing "{name}"); free some space and try again',
  'fs.fullAnon': 'the disk is full; free some space and try again',
  'fs.exists': '"{name}" already exists',
  'fs.existsAnon': 'the file already exists',
  'fs.readOnly': '"{name}" is on a read-only disk',
  'fs.readOnlyAnon': 'the file is on a read-only disk',
  'fs.busy': '"{name}" is in use by another program; try again',
  'fs.busyAnon': 'the file is in use by another program; try again',
  'fs.tooManyFiles': 'too many files are open; try again',
  'fs.nameTooLong': 'a file name or path is too long',
  'fs.loop': '"{name}" is a symbolic link loop',
  'fs.loopAnon': 'the file is a symbolic link loop',
  'fs.notEmpty': 'the folder "{name}" is not empty',
  'fs.notEmptyAnon': 'the folder is not empty',
  'fs.io': '"{name}" could not be read or written (a disk error)',
  'fs.ioAnon': 'the file could not be read or written (a disk error)',

  // Projects (src/main/project/projectService.ts).
  'project.exists': 'a file already exists at {path}; open it or choose another name',
  'project.notFound': 'project file not found: {path}',
  'project.isFolder':
    'cannot open project {path}: not a Transfer Studio project (it is a folder, not a file)',
  'project.emptyFile': 'cannot open project {path}: not a Transfer Studio project (the file is empty)',
  'project.cannotOpen': 'cannot open project {path}: {reason}',
  'project.noneOpen': 'no project is open: create or open a project first',
  'project.emptyReadOnly':
    'not a Transfer Studio project (an empty SQLite database, and the file is read-only)',
  'project.upgradeReadOnly':
    'the project needs an upgrade to schema {target} (it has {version}), and the file is read-only; copy it or change its permissions',

  // Import (src/main/library/importer.ts, libraryService.ts).
  'import.folderNotFound': 'import folder not found: {path}',
  'import.notAFolder': 'not a folder: {path}',
  'import.cannotReadNames': 'cannot read names CSV {path}: {reason}',
  'import.cannotReadAnnotations': 'cannot read annotation CSV {path}: {reason}',
  'import.noCsv':
    'no GTSRB annotation CSV found in {path}; pass one (annotationsCsv) or choose another label source',
  'import.running': 'import {id} is still running; cancel it or wait',
  'importFile.cannotOpenFolder': 'cannot open folder: {reason}',
  'importFile.loop': 'symbolic link loop: folder {path} was already visited, skipped',
  'importFile.cannotList': 'cannot list folder: {reason}',
  'importFile.brokenLink': 'broken symbolic link: its target does not exist',
  'importFile.linkLoop': 'symbolic link loop: the link points back to itself',
  'importFile.cannotFollow': 'cannot follow symbolic link: {reason}',
  'importFile.cannotRead': 'cannot read file: {reason}',
  'importFile.permission': 'permission denied',
  'importFile.notFound': 'file not found',
  'importFile.isFolder': 'is a folder',

  // Library and classes (src/main/library/libraryService.ts).
  'library.imageNotFound': 'image {id} not found',
  'library.classNotFound': 'class {id} not found',
  'library.keyTaken': 'a class with key "{key}" already exists',
  'library.mergeSelf': 'cannot merge a class into itself',
  'library.reassignSelf': 'cannot reassign a class to itself',
  'library.imagesNotFound': 'image(s) not found: {ids}',

  // Training (src/main/training/trainingService.ts).
  'training.processStopped': 'the training process stopped unexpectedly ({reason})',
  'training.busy': 'run {id} is still training; cancel it or wait for it to finish',
  'training.runNotFound': 'run {id} not found in this project',
  'training.completed': 'run {id} has completed; start a new run instead',
  'training.baseRunNotFound': 'base run {id} not found in this project',
  'training.baseNotFound': 'base model not found: {path}',
  'training.noModel': 'run {id} has no trained model (status: {status})',
  'training.noTestImages':
    'the test split has no images of the classes this model knows: assign splits first',
  'training.fewClasses':
    'training needs labelled images of at least 2 classes in the train split (found {count}); label images and assign splits first',
  'training.noCheckpoint':
    'run {id} has no checkpoint to resume from (it stopped before its first epoch ended)',
  'training.baseNotCompleted':
    'run {id} has not completed (status: {status}), so it has no model to start from',
  'training.baseNoModel': 'run {id} has no trained model to start from (its model folder is missing)',
  'training.refused': 'the run cannot start: {detail}',
  'training.noHub': 'hub model {id}: no model hub in this process',
  'training.owned':
    'run {id} is being trained by another process (pid {pid} on {host}, last heartbeat {ago} s ago); wait for it to finish or stop that process first',
  'training.failed': 'the run failed: {detail}',

  // Weights and bases (validateBase and the weights readers).
  'weights.invalid': 'the base model cannot be used: {detail}',
  'base.none': 'No base model: the network starts from random weights.',
  'base.onnxFineTune':
    'An ONNX model is used as a frozen feature extractor: choose feature extraction, or a .pth or hub model to fine-tune.',
  'base.runNotCompleted': 'Run {id} has not completed (status: {status}), so it has no model to start from.',
  'base.nothingAt': 'Nothing found at {path}.',
  'base.unusable': '{name} cannot be used: {detail}',
  'base.folderNpy': '{path} is a folder; choose a bvlc-alexnet.npy file.',
  'base.folderPth': '{path} is a folder; choose a .pth file.',
  'base.folderOnnx': '{path} is a folder; choose an .onnx file.',
  'base.noHub': 'No model hub in this process.',
  'base.notInCatalogue': 'No model "{id}" in the catalogue.',
  'base.notDownloaded': '{name} is not downloaded yet ({mb} MB): download it first.',
  'base.noFeatureOutput': 'No feature output found (outputs: {outputs}); name the output to use.',
  'base.noOutput': 'The model has no output "{output}".',
  'base.bvlcFullWidthConvs':
    'Full-width AlexNet conv layers with {fcLayers} of {units} units, not the complete BVLC file; conv1-conv5 can be used.',
  'base.bvlcFullWidthConvsOnly':
    'Full-width AlexNet conv layers with no fc layers, not the complete BVLC file; conv1-conv5 can be used.',
  'base.bvlcReduced':
    "A reduced AlexNet (width {width}: conv1 has {filters} filters, {fcLayers} of {units} units), not the full BVLC weights; set the model's width to match.",
  'base.bvlcReducedConvsOnly':
    "A reduced AlexNet (width {width}: conv1 has {filters} filters, no fc layers), not the full BVLC weights; set the model's width to match.",
  'base.pth':
    'A {arch} state dict ({tensors} tensors, {format} format, a {classes}-class head that a new head replaces).',
  'base.onnx':
    'An ONNX image model: input "{input}" {layout} {size} x {size}, features from "{feature}" ({dim} values); it stays frozen, only the new head trains.',
  'base.onnxNoDim':
    'An ONNX image model: input "{input}" {layout} {size} x {size}, features from "{feature}"; it stays frozen, only the new head trains.',
  'base.fromHub': '{name}: {reason}',
  'base.studioIsFile': '{path} is a file; choose the folder that holds model.json.',
  'base.studioNoModel': '{path} has no model.json, so it is not a Transfer Studio model folder.',
  'base.studioNoMetadata': 'A TF.js model with {layers} layers but no metadata.json.',
  'base.studioNotOurs': '{path}/metadata.json is not a Transfer Studio model description.',
  'base.studioAlexnet':
    'A Transfer Studio AlexNet (width {width}) trained with {strategy} on {classes} classes, {size} px input.',
  'base.studioCompact':
    "A Transfer Studio compact CNN trained with {strategy} on {classes} classes, {size} px input: fine-tuning and feature extraction start from an AlexNet's fc7 layer, which it does not have.",
  'base.studioNoFc7':
    "A Transfer Studio AlexNet (width {width}) trained with {strategy} on {classes} classes, {size} px input: fine-tuning and feature extraction start from an AlexNet's fc7 layer, which it does not have.",
  'base.bvlcFull': 'The full BVLC AlexNet weights (conv1-conv5, fc6-fc8 with 4096 units), for 227 px input.',

  // Images (src/main/image).
  'image.unreadable': 'cannot read image {path}: {reason}',
  'image.undecodable': 'cannot decode image {path}: {reason}',
  'image.unsupported': 'not a supported image',
  'image.tooLarge':
    'The image is {width} x {height} pixels ({mp} megapixels), more than the {max} megapixels that are decoded for viewing.',
  'image.moved': 'file not found (moved or deleted since import?)',

  // Export (src/main/ml/export/folder.ts).
  'export.isFile': 'export target {path} exists and is a file; choose a new folder',
  'export.notEmpty': 'export target {path} is not empty; choose a new or empty folder (nothing was written)',
  'export.notWritable': 'export target {path} cannot be written: {reason}',
  'export.notExportFolder': '{path} is not an export folder (no metadata.json)',
  'export.problemFile': '{path} is a file; choose a new or empty folder.',
  'export.problemNotEmpty': '{path} is not empty; choose a new or empty folder.',
  'export.problemNoPermission': 'No permission to write in {path}.',
  'export.problemNoParent': 'No folder exists above {path}.',
  'export.problemParentFile': '{parent} is a file, so no folder can be created inside it.',
  'export.problemParentReadOnly': 'No permission to create {path} ({parent} is not writable).',

  // What each file of an export folder is for (src/main/training/exportPreview.ts).
  'exportFile.metadata': 'Labels (output index to class), preprocessing, strategy and metrics.',
  'exportFile.model': 'TF.js layers model: topology and the weights manifest.',
  'exportFile.onnx': 'The same network as ONNX (NHWC float32 input), for onnxruntime and other tools.',
  'exportFile.base': 'The frozen ONNX base the head was trained on (a copy of your model), for onnxruntime.',
  'exportFile.head': "The trained head: the base's features in, class probabilities out (see README.md).",
  'exportFile.labels': 'Output index to class: id, key and name of each class, in output order.',
  'exportFile.readme': 'How to feed an image to the model and read its output.',
  'exportFile.shard': 'TF.js weights shard (binary float32), referenced by model.json.',
  'exportFile.other': 'Part of the trained model folder.',

  // Hub (src/main/hub).
  'hub.failed': 'the download of {id} failed: {reason}',
  'hub.hashMismatch':
    'the download of {id} is damaged (its checksum does not match); it was deleted, try again',
  'hub.cancelled': 'download of {id} cancelled',

  // `transfer-studio doctor` and the About screen (src/main/ml/tfjs/doctor.ts). No `@` here: vue-i18n reads
  // it as a link, so package names and commands travel in the advice's `command`, shown below the sentence.
  'doctor.summary':
    'TF.js backend: {backend} ({why}); training uses {used} of {cores} cores; onnxruntime: {onnx}',
  'doctor.onnxLoaded': 'loaded',
  'doctor.onnxMissing': 'not available',
  'doctor.why.forced': 'forced by TS_BACKEND',
  'doctor.why.first': 'the first choice',
  'doctor.why.nativeMissing': 'tfjs-node not installed',
  'doctor.why.gpuOptIn': 'tfjs-node-gpu not installed; it is opt-in',
  'doctor.why.skipped': '{detail}',
  'doctor.advice.gpu':
    'An NVIDIA GPU is visible: the GPU build of TensorFlow (tfjs-node-gpu) trains on it. It is not installed by default: the command below installs it. It needs the NVIDIA driver, CUDA 11.2 and cuDNN 8.1 on the library path; then run with TS_BACKEND=tfjs-node-gpu to check that it loads.',
  'doctor.advice.native':
    'Native TensorFlow on the CPU (tfjs-node): its prebuilt binding is N-API 8, which this Node (N-API {napi}) runs because N-API is ABI-stable. Its install downloads libtensorflow, so it needs the internet once (README, "A faster backend").',
  'doctor.advice.noBinding':
    'tfjs-node publishes no binding for {target}: the WebAssembly backend is the fastest here.',
  'doctor.advice.simdOff':
    'WebAssembly SIMD is off: a newer Node or Electron (any from Node 16.4) turns it on, about 2-3x faster.',
  'doctor.advice.cpu':
    'The plain JavaScript backend is the slowest: unset TS_BACKEND, or reinstall to get WebAssembly.',
  'doctor.advice.cores':
    'Training uses {used} of {cores} cores on WebAssembly (one thread per core, at most {max} unless TS_TRAIN_THREADS says more, up to 64); the native backend uses them all.',
  'doctor.advice.onnx':
    'onnxruntime-node did not load ({reason}): rebuild it with the command below; ONNX bases and the export check need it.',
  'doctor.advice.onnxNoReason':
    'onnxruntime-node did not load: rebuild it with the command below; ONNX bases and the export check need it.',

  // Uploads (src/main/uploads/uploadStore.ts).
  'upload.tooMany': 'too many uploads are waiting to be used ({max})',
  'upload.tooMuchSpace': 'the uploads waiting to be used take too much space; try again shortly',
  'upload.empty': 'the upload is empty',
  'upload.gone': 'the uploaded file is gone (it expired or was used); send it again',
  'upload.tooLarge': 'the file is larger than the {mb} MB an upload may be',

  // The data review (src/main/review).
  'review.busy': 'a review is already running; wait for it or cancel it',
  'review.cancelled': 'the review was cancelled',
  'review.tooFewClasses': 'a review needs labelled images of at least 2 classes; this project has {count}',
  'review.tooFewImages':
    'a review with {folds} folds needs at least {folds} labelled images; this project has {count}',
  'review.baseKind': 'a review base must be a hub model or a base file (bvlc-alexnet.npy, .pth or .onnx)',
  'review.imageNotFound': 'image {id} not found in this project',
  'review.classRequired': 'accepting a suggestion needs the class to label the image with',
  'review.classNotFound': 'class {id} not found in this project',
  'review.processStopped': 'the review stopped: {reason}'
} as const

export type MessageKey = keyof typeof en
