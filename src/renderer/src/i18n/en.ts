// English UI strings. Keys must match zh-CN.ts exactly (a test checks). Plurals use `a | b | c`
// (zero | one | many) and `{n}`.
export default {
  /** How a run is named in pickers and lists (lib/runLabel.ts). */
  runLabel: {
    short: 'Run #{id} ({name})',
    withAccuracy: 'Run #{id}: {name}, {acc} % on validation'
  },
  app: {
    title: 'Transfer Studio',
    language: 'Language',
    loading: 'Loading…',
    connectionLost: 'Lost the connection to the backend: {reason}. Reload the page to reconnect.',
    tokenMissing:
      'This address is missing its access token (the ?token=… part), so the studio cannot connect; reloading will not help. Open the full URL that `npm start` or `transfer-studio serve` printed in its terminal.',
    tokenRejected:
      'The server refused this access token: it belongs to an earlier start (each start makes a new one). Open the URL that `npm start` or `transfer-studio serve` printed in its terminal this time.',
    connecting: 'Connecting to the backend…',
    dismiss: 'Dismiss',
    close: 'Close',
    cancel: 'Cancel',
    help: 'Keyboard shortcuts',
    error: 'Something went wrong: {message}'
  },
  start: {
    tagline: 'Teach a computer to recognise your images: import, label, train.',
    createTitle: 'Create a project',
    createHint: 'A project is one file on this computer; its thumbnails are kept beside it.',
    pathLabel: 'Project file path',
    pathPlaceholder: '/home/me/signs.tsproj',
    create: 'Create project',
    openTitle: 'Open a project',
    open: 'Open',
    openPath: 'Open project file',
    recentTitle: 'Recent projects',
    noRecent: 'No recent projects yet.',
    missing: 'missing',
    openedAt: 'Opened {when}',
    pathRequired: 'Enter the path of the project file.'
  },
  toolbar: {
    import: 'Import',
    split: 'Split',
    classes: 'Classes',
    closeProject: 'Projects',
    projectName: 'Project: {name}'
  },
  sidebar: {
    all: 'All images',
    unlabelled: 'Unlabelled',
    classes: 'Classes',
    noClasses: 'No classes yet. Add one to start labelling.',
    addClass: 'Add class',
    newClassPlaceholder: 'New class name',
    shortcut: 'Shortcut: {key}',
    filterBy: 'Show only {name}',
    count: 'no images | 1 image | {n} images',
    filters: 'Filters',
    split: 'Split',
    splitAny: 'Any split',
    splitNone: 'Not assigned',
    search: 'Search file names',
    searchPlaceholder: 'File name contains…',
    sort: 'Sort by',
    descending: 'Descending',
    predictions: 'Predictions of',
    noPredictions: 'No run',
    disagrees: 'Only where the prediction disagrees with the label',
    predictionsHint: 'Sort by confidence, lowest first, to find the images worth labelling next.'
  },
  split: {
    train: 'Train',
    val: 'Validation',
    test: 'Test'
  },
  sort: {
    id: 'Import order',
    fileName: 'File name',
    class: 'Class',
    importedAt: 'Import time',
    confidence: 'Confidence'
  },
  grid: {
    label: 'Images',
    emptyTitle: 'No images yet',
    emptyAction: 'Import a folder',
    noMatchTitle: 'No images match these filters',
    clearFilters: 'Clear filters',
    unlabelled: 'Unlabelled',
    loadingItem: 'Loading',
    thumbAlt: '{file}, {label}',
    selected: 'Selected',
    predictionShort: '→ {name} {p}%',
    prediction: 'Predicted {name} ({p} %)',
    fromMap: 'From the map: {n} image | From the map: {n} images',
    fromMapRemove: 'Show all images again (remove the map filter)'
  },
  detail: {
    title: 'Image details',
    file: 'File',
    size: 'Size',
    dimensions: 'Dimensions',
    class: 'Class',
    split: 'Split',
    group: 'Group',
    hash: 'Hash',
    path: 'Path',
    format: 'Format',
    imported: 'Imported',
    none: '—',
    bytes: '{n} bytes',
    kib: '{n} KiB',
    pixels: '{w} × {h} px'
  },
  status: {
    images: 'No images | 1 image | {n} images',
    labelled: '{n} labelled',
    unlabelled: '{n} unlabelled',
    selected: 'no selection | 1 selected | {n} selected',
    showing: '{n} shown',
    undo: 'Undo',
    redo: 'Redo',
    undoTitle: 'Undo the last label change (Ctrl+Z)',
    redoTitle: 'Redo (Ctrl+Shift+Z)',
    clearSelection: 'Clear selection'
  },
  labels: {
    failed: 'Could not save the label: {message}. The change was undone.',
    undone: 'Nothing to undo | Undid the label change of 1 image | Undid the label change of {n} images',
    redone: 'Nothing to redo | Redid the label change of 1 image | Redid the label change of {n} images',
    undoFailed: 'Could not undo: {message}',
    redoFailed: 'Could not redo: {message}',
    applied: 'Labelled 1 image as {name} | Labelled {n} images as {name}',
    removed: 'Removed the label from 1 image | Removed the label from {n} images',
    allLabelled: 'Every image here has a label.',
    noClassForKey: 'No class has the shortcut “{key}”.'
  },
  importDialog: {
    title: 'Import images',
    folder: 'Folder to import',
    folderPlaceholder: '/home/me/images',
    folderHint: 'Every image inside is imported, including sub-folders.',
    labels: 'Labels',
    labelsFolders: 'From sub-folder names',
    labelsCsv: 'From a GTSRB annotation CSV',
    labelsNone: 'None (label them here)',
    namesCsv: 'Class names CSV (optional)',
    namesCsvPlaceholder: '/home/me/signnames.csv',
    namesCsvHint: 'Two columns: ClassId,SignName.',
    annotationsCsv: 'Annotation CSV (optional)',
    annotationsHint: 'Found in the folder when left empty.',
    crop: 'Crop to the region of interest',
    start: 'Import',
    scanning: 'Looking for images…',
    importing: 'Importing…',
    progress: '{done} of {total}',
    rate: '{rate} images/s',
    eta: 'about {s} s left',
    cancel: 'Cancel import',
    cancelling: 'Cancelling…',
    done: 'Import finished',
    cancelled: 'Import cancelled; what was imported is kept.',
    failedPhase: 'Import failed: {error}',
    summary: 'Imported {imported}, skipped {dup} duplicates, {failed} failed.',
    failures: 'Files that could not be imported',
    noFailures: 'Every file was imported.',
    folderRequired: 'Enter the folder to import.',
    noImages: 'No images were found in {folder}.',
    formats:
      'Supported formats: PNG, JPEG, PPM/PGM/PNM, WebP, BMP and GIF, in the folder or its sub-folders.',
    fixAndRetry: 'Correct the folder and press Import again.'
  },
  picker: {
    title: 'Choose a class',
    placeholder: 'Type part of a name or a number',
    hint: 'Enter labels {target}; ↑ ↓ move, Esc closes.',
    none: 'No class matches “{query}”.',
    targetFocused: 'the focused image',
    targetSelection: 'the selected image | the {n} selected images'
  },
  splitDialog: {
    title: 'Split into train, validation and test',
    val: 'Validation share',
    test: 'Test share',
    percent: '{n} %',
    groupBy: 'Keep tracks together',
    groupHint: 'Images from the same GTSRB track (file-name prefix before “_”) stay in one split.',
    seed: 'Seed',
    seedHint: 'The same seed gives the same split.',
    apply: 'Split',
    result: 'Result',
    invalid: 'Validation and test together must stay below 100 %.',
    current: 'Current split',
    classCol: 'Class'
  },
  classDialog: {
    title: 'Manage classes',
    name: 'Name',
    key: 'Source key',
    shortcut: 'Key',
    images: 'Images',
    add: 'Add',
    newName: 'New class name',
    rename: 'Rename',
    save: 'Save',
    merge: 'Merge into…',
    mergeConfirm: 'Merge',
    mergeHint: 'All images of {name} move to the chosen class, then {name} is deleted.',
    delete: 'Delete',
    deleteConfirm: 'Delete class',
    deleteHint: 'What happens to its images?',
    reassignNone: 'Become unlabelled',
    reassignTo: 'Move to {name}',
    actions: 'Actions',
    empty: 'No classes yet.',
    nameRequired: 'A class needs a name.'
  },
  help: {
    title: 'Keyboard shortcuts',
    intro:
      'Label without the mouse. Labels apply to the selection, or to the focused image when nothing is selected, then focus moves on.',
    arrows: 'Move focus',
    jump: 'Move focus by a page, or to the first or last image',
    shiftArrows: 'Extend the selection',
    classKeys: 'Assign the class with that key (shown beside each class; 1…9 are classes 1…9, 0 is class 10)',
    picker: 'Pick any class by typing part of its name or its number, then Enter',
    pickerBeyond:
      'Pick any class by typing part of its name or its number, then Enter (the 1 class past the letters has no key of its own) | Pick any class by typing part of its name or its number, then Enter (the {n} classes past the letters have no key of their own)',
    next: 'Jump to the next unlabelled image',
    space: 'Select or deselect the focused image',
    selectAll: 'Select every image that matches the filters',
    remove: 'Remove the label',
    undo: 'Undo',
    redo: 'Redo',
    enter: 'Open the image details',
    escape: 'Close a panel or dialog, or clear the selection',
    help: 'Show this help',
    keyCol: 'Key',
    actionCol: 'Action'
  },
  nav: {
    label: 'Sections',
    library: 'Library',
    train: 'Train',
    runs: 'Runs & results',
    predict: 'Predict',
    review: 'Review',
    readOnly:
      'This project is open read-only: its file cannot be changed. You can browse it and use its models; copy the file or change its permissions to make changes.',
    trainingPill: 'Training: epoch {epoch}/{total}, {percent} %',
    trainingPillStarting: 'Training: starting…',
    trainingPillAria: 'Run #{id} is training, {percent} % done: open its dashboard'
  },
  train: {
    newRun: 'New run',
    dashboard: 'Last run',
    running: 'Run #{id} training…'
  },
  strategy: {
    'fine-tune': {
      name: 'Fine-tune',
      what: 'Start from the pretrained weights and train every layer gently.'
    },
    retrain: {
      name: 'Retrain',
      what: 'Same AlexNet design, every layer trained from random weights.'
    },
    'feature-extraction': {
      name: 'Feature extraction',
      what: 'Keep the pretrained layers frozen; train only a new last layer.'
    },
    custom: {
      name: 'Custom small network',
      what: 'A compact network trained from scratch on your small images.'
    }
  },
  runStatus: {
    starting: 'Starting',
    queued: 'Queued',
    running: 'Training',
    completed: 'Completed',
    failed: 'Failed',
    cancelled: 'Cancelled'
  },
  backendName: {
    'tfjs-node-gpu': 'TensorFlow (GPU)',
    'tfjs-node': 'TensorFlow (CPU, native)',
    wasm: 'WebAssembly (SIMD)',
    cpu: 'plain JavaScript (slow)',
    unknown: 'the default backend'
  },
  phase: {
    loading: 'Loading images',
    features: 'Computing features of the frozen layers',
    training: 'Training',
    evaluating: 'Checking on the validation images',
    saving: 'Saving the model'
  },
  chart: {
    loss: 'Loss (lower is better)',
    accuracy: 'Accuracy (higher is better)',
    train: 'train',
    val: 'validation',
    batch: 'per batch',
    epoch: 'epoch'
  },
  wizard: {
    stepsLabel: 'Wizard steps',
    step: {
      data: 'Your data',
      questions: 'Strategy',
      base: 'Base model',
      settings: 'Settings',
      review: 'Review'
    },
    stepOf: 'Step {n} of {total}',
    stepLocked: 'Not reached yet: use Next',
    back: 'Back',
    next: 'Next',
    start: 'Start training',
    data: {
      title: 'The labelled images you have',
      intro:
        'Training learns from the Train split, checks itself on Validation after every epoch, and is judged on Test at the end.',
      labelled: 'Labelled',
      split: 'Split into train / validation / test…',
      resplit: 'Change the split…',
      allGood: 'The data is ready for training.'
    },
    warn: {
      noSplit: 'No split yet: assign train, validation and test images before training.',
      unlabelled:
        'No unlabelled images. | 1 image has no label and will not be used. | {n} images have no label and will not be used.',
      fewImages: '“{name}” has only {n} training images: the model will hardly learn it.',
      noVal: '“{name}” has no validation images: its accuracy cannot be checked while training.',
      tooFewClasses: 'Training needs at least 2 labelled classes (found {n}).'
    },
    q: {
      title: 'Two questions choose the strategy',
      sizeQ: '1. How much labelled data do you have?',
      sizeComputed: 'Your classes have a median of {n} training images each.',
      imagesPerClass: 'Images per class',
      threshold: '“Large” from',
      useComputed: 'Use the computed number',
      large: 'That counts as a large data set (at least {t} per class).',
      small: 'That counts as a small data set (fewer than {t} per class).',
      similarQ: '2. How similar is your task to what the base model learned?',
      similarExplain:
        'The base AlexNet learned from ImageNet: a million everyday photos of animals, objects and scenes. Its early layers see edges, colours and shapes that help with other photos too.',
      similarYes: 'Similar: everyday photos',
      similarYesEx: 'e.g. traffic signs, dog breeds, products photographed in a shop.',
      similarNo: 'Different: another kind of picture',
      similarNoEx: 'e.g. X-ray or MRI images, microscope slides, spectrograms, satellite radar.',
      colSimilar: 'Similar task',
      colDifferent: 'Different task',
      row: {
        large: 'Large data set',
        small: 'Small data set'
      },
      recommended: 'Recommended',
      answerFirst: 'Answer the second question to see the recommendation. You can pick any of the four.',
      because: 'Recommended: {name}, because {reason}',
      reason: {
        largeSimilar:
          'with {n} images per class (≥ {t}) there is enough data to adjust every layer, and the pretrained features fit your photos.',
        largeDifferent:
          'with {n} images per class (≥ {t}) there is enough data to learn every layer anew, and ImageNet features fit your images poorly.',
        smallSimilar:
          'with only {n} images per class (< {t}) training all layers would overfit, while the pretrained features already fit your photos.',
        smallDifferent:
          'with only {n} images per class (< {t}) a big network would overfit, and ImageNet features fit your images poorly: a small network fits best.'
      }
    },
    base: {
      title: 'Which weights to start from',
      required: '{name} starts from pretrained weights, so it needs a base model.',
      notUsed: '{name} trains every layer from random weights: no base model is used.',
      hub: {
        title: 'Pretrained model from the hub',
        hint: 'ImageNet-trained weights, downloaded once into the model cache and shared by every project.',
        cacheDir: 'Model cache: {dir}',
        loading: 'Loading the model list…',
        empty: 'The model catalogue lists no models.',
        reload: 'Try again',
        pick: 'Choose a downloaded model, or download one: it is chosen when the download completes.',
        colName: 'Model',
        colArch: 'Architecture',
        colInput: 'Input',
        colTop1: 'ImageNet top-1',
        colSize: 'Size',
        colState: 'State',
        px: '{n} px',
        percent: '{n} %',
        mb: '{n} MB',
        unknown: '–',
        licence: 'Licence: {licence}',
        downloaded: 'Downloaded',
        use: 'Use {name}',
        download: 'Download',
        resume: 'Resume ({done} of {total})',
        cancel: 'Cancel',
        cancelling: 'Cancelling…',
        retry: 'Retry',
        failed: 'The download failed: {error}',
        progress: '{done} of {total}',
        progressLabel: 'Downloading {name}',
        eta: {
          seconds: '{s} s left',
          minutes: '{m} min {s} s left',
          hours: '{h} h {m} min left'
        },
        etaUnknown: 'estimating the time left…',
        recommended: 'Recommended',
        recommendedWhy:
          'Recommended: {name}, small and fast. Frozen AlexNet fc7 features are weak on 32 px signs: measured here on GTSRB (bench/ACCURACY.md), a head on them reached 69 % on unseen signs, against 88 % fine-tuning the same network and 99 % for the compact CNN'
      },
      file: 'A file on this machine',
      fileHint:
        'A BVLC AlexNet .npy file, a torchvision .pth state dict, an .onnx model, or the folder of a model exported from this studio.',
      fileKind: {
        'bvlc-npy': 'Read as BVLC AlexNet weights (.npy).',
        'torchvision-pth': 'Read as a torchvision state dict (.pth).',
        onnx: 'Read as an ONNX model: a frozen feature extractor, for feature extraction only.',
        'studio-model': 'Read as the folder of a model exported from this studio.'
      },
      arch: 'Architecture',
      pickArch: 'Choose the architecture…',
      archNeeded: 'Choose the architecture this .pth file was saved from.',
      path: 'Path of the file or folder',
      pathPlaceholder: '/home/me/models/resnet18-f37072fd.pth',
      browse: 'Browse…',
      check: 'Check',
      checking: 'Checking the file…',
      typePath: 'This browser cannot open a file dialog on the backend’s computer: type the path there.',
      run: 'A model trained earlier in this project',
      runHint: 'Continue from one of your completed runs; the new model keeps its size.',
      noRuns: 'No completed run yet.',
      pickRun: 'Choose a run…',
      none: 'No base model',
      noneNotAllowed: 'Not possible for this strategy: it reuses pretrained layers.'
    },
    settings: {
      title: 'Settings',
      epochs: 'Epochs',
      epochsHint: 'Passes over all training images.',
      batchSize: 'Batch size',
      batchHint: 'Images per training step.',
      learningRate: 'Learning rate',
      lrHint: 'Step size; too high and training jumps around.',
      invalid: 'Check “{field}”: it must be a positive number.',
      advanced: 'Advanced',
      optimizer: 'Optimiser',
      sgd: 'SGD with momentum',
      schedule: 'Learning-rate schedule',
      scheduleHint: 'How the rate changes during the run; cosine and one-cycle end with small steps.',
      scheduleName: {
        constant: 'Constant',
        cosine: 'Cosine decay',
        'one-cycle': 'One cycle (warm-up, then decay)'
      },
      patience: 'Early stopping patience',
      patienceHint: 'Stop after this many epochs without a better validation loss; 0 = off.',
      seed: 'Random seed',
      rateFactor: 'Rate factor for pretrained layers',
      balanced: 'Balance classes (show every class equally often)',
      augmentation: 'Augmentation',
      augEnabled: 'Vary the training images (shift, rotate, scale, light)',
      augCached:
        'Feature extraction computes the frozen features once, so augmentation does not apply to it.',
      aug: {
        shift: 'Shift (fraction of side)',
        rotationDeg: 'Rotation (degrees)',
        scale: 'Scale change',
        brightness: 'Brightness change',
        contrast: 'Contrast change',
        flip: 'Mirror horizontally (off for signs: a mirrored sign means something else)',
        mirrorSigns:
          'Mirror the signs that have a mirror image (No entry stays No entry, Turn left becomes Turn right), found by their GTSRB names'
      },
      modelSize: 'Model size',
      reducedNote:
        'The real AlexNet is width 1, 4096 units, 227 px. A reduced size trains much faster on a CPU but is less accurate; the size is recorded with the model.',
      width: 'Width (channels ×)',
      fcUnits: 'Units in fc6 / fc7',
      inputSize: 'Input size (px)',
      baseShapes: 'The model size must match the base file’s shapes; the check above names its layers.',
      resetDefaults: 'Reset to the defaults'
    },
    review: {
      title: 'Review and start',
      strategy: 'Strategy',
      base: 'Base model',
      model: 'Model',
      arch: {
        alexnet: 'AlexNet',
        compact: 'Compact CNN',
        torchvision: 'torchvision network',
        onnx: 'ONNX model'
      },
      size: 'width {w}, {fc} units, {px} px',
      training: 'Training',
      trainingSummary: '{e} epochs, batch {b}, learning rate {lr}, {opt}',
      time: 'Expected time',
      estimate: '{duration} on {backend}, {cores} cores',
      estimateNoBackend: '{duration}, {cores} cores',
      underMinute: 'less than a minute',
      minutes: 'about {n} min',
      hours: 'about {n} h',
      rough: '{duration} (rough estimate)',
      basisMeasured: 'Scaled from the speed measured on run #{id} of this project.',
      basisAssumed:
        'No run of this project has been measured yet, so a typical speed of {backend} is assumed; the dashboard corrects the time from the first batches.',
      thisBackend: 'this backend',
      longTitle: 'This run would take {duration}.',
      longReduce:
        'The reduced model (fewer filters and units, a smaller input that still fits these images) trains many times faster, usually with little loss of accuracy on small images.',
      longNoReduce: 'These weights fix the model’s size; fewer epochs or a faster backend would shorten it.',
      useReduced: 'Use the reduced model',
      noEstimate: 'No estimate: {message}',
      busy: 'Run #{id} is still training; wait for it or cancel it first.'
    }
  },
  dash: {
    none: 'No run yet. Start one from the wizard.',
    title: 'Run #{id}',
    cancel: 'Cancel',
    resume: 'Resume',
    results: 'See the results',
    progress: 'Training progress',
    epoch: 'Epoch',
    batch: 'Batch',
    speed: 'Speed',
    imagesPerSecond: '{n} images/s',
    eta: 'Time left',
    seconds: '{n} s',
    minutes: '{n} min',
    backend: 'Runs on',
    cores: '{n} cores',
    threads: '{n} threads',
    threadsOnCores: '{n} threads on {cores} cores',
    data: 'Images',
    dataCounts: '{train} train, {val} validation',
    completed: 'Finished: {acc} on validation, in {s} s.',
    stoppedEarly: ' Stopped early: validation stopped improving.',
    failed: 'Training failed: {message}',
    cancelled: 'Cancelled. Resume continues from the last finished epoch.',
    chartHint:
      'Solid: training images; dashed: validation images; faint: each batch. When validation gets worse while training improves, the model is memorising (overfitting).'
  },
  runs: {
    title: 'Runs',
    none: 'No runs yet. Train one in the Train view.',
    compare: 'Compare',
    compareRun: 'Compare run {id}',
    strategy: 'Strategy',
    settingsCol: 'Settings',
    status: 'Status',
    val: 'Validation',
    test: 'Test',
    time: 'Time',
    open: 'Results',
    watch: 'Watch',
    alexSize: 'AlexNet ×{w}, {fc} units, {px} px',
    compactSize: 'Compact, {px} px',
    settings: '{e} epochs, batch {b}, rate {lr}',
    comparing: 'Comparing {ids}',
    pickMore: 'Tick another run to compare.'
  },
  evalv: {
    back: 'All runs',
    title: 'Results of run #{id}',
    trainedOn: 'trained on {train} train and {val} validation images',
    export: 'Export…',
    notYet: 'This run has not been tested yet. Testing runs the model on the Test images it never saw.',
    evaluate: 'Test the model',
    evaluating: 'Testing…',
    accuracy: 'accuracy on {n} test images',
    top5: 'right class among the top 5',
    wrong: 'test images misclassified',
    explain:
      'Recall: how many images of a class were found. Precision: how many images predicted as a class really are it.',
    failedImages: '{n} test images could not be read.',
    perClass: 'Per class',
    col: {
      name: 'Class',
      precision: 'Precision',
      recall: 'Recall',
      support: 'Images'
    },
    matrix: 'Confusion matrix',
    matrixAxes: 'Rows: the label. Columns: the prediction. Click a cell to see its images.',
    cellTitle: '{n} images labelled {label}, predicted {predicted}',
    cellImages: 'Labelled {label}, predicted {predicted}',
    cellEmpty: 'No images in this cell.',
    gallery: 'Misclassified images',
    galleryHint:
      'Click an image, then press a class key (or / to pick any class) to relabel it, Enter or y to accept the prediction, arrows to move, Ctrl+Z to undo. Some “mistakes” are wrong labels.',
    openInLibrary: 'Show disagreements in the library',
    noneWrong: 'Every test image was classified correctly.',
    predicted: 'Predicted {name} ({p} %)',
    labelled: 'Labelled {name}',
    nowLabelled: 'Now labelled {name}'
  },
  predict: {
    title: 'Try a model on new images',
    noRuns: 'No completed run yet: train a model first.',
    model: 'Model',
    drop: 'Drop image files or a folder anywhere on this window, or',
    pick: 'Choose images…',
    busy: 'Predicting…',
    pickRun: 'Choose a model first.',
    noImages: 'No image files among those (PNG, JPEG, PPM, BMP, GIF, WebP).',
    runOption: '{run} · test {acc} %',
    runOptionVal: '{run} · validation {acc} %',
    runOptionNone: '{run} · no accuracy',
    best: 'The best run is chosen: the highest test accuracy (validation accuracy where there is no test).',
    emptyFile: 'The file is empty.',
    fileFailed: 'Not predicted: {reason}',
    someFailed:
      '1 file could not be predicted; the others were. | {n} files could not be predicted; the others were.'
  },
  exportDialog: {
    title: 'Export run #{id}',
    folder: 'Folder to export to',
    placeholder: '/home/me/exports/signs-model',
    check: 'Check',
    hint: 'A new folder, or an empty one. Nothing is written until you press Export.',
    willWrite: 'What will be written',
    problem: 'This folder cannot be used: {problem}',
    export: 'Export',
    exporting: 'Exporting…',
    done: 'Exported to:',
    onnxError: 'The TF.js model was written, but the ONNX file was not: {message}',
    failed: 'Export failed: {message}'
  },
  about: {
    open: 'About / status',
    openTitle: 'The app version, the backend that trains, and how to train faster on this machine',
    title: 'About Transfer Studio / status',
    loading: 'Reading what this machine runs… (the first time starts TensorFlow.js: about a second)',
    failed: 'Could not read the status: {message}',
    version: 'Version',
    backend: 'Training backend',
    kind: {
      'tfjs-node-gpu': 'TensorFlow on the GPU (CUDA)',
      'tfjs-node': 'native TensorFlow on the CPU',
      wasm: 'TensorFlow.js on WebAssembly',
      cpu: 'plain JavaScript, the slowest'
    },
    simdOn: 'SIMD on',
    simdOff: 'SIMD off',
    wasmThreads: '{n} threads',
    listSeparator: ', ',
    why: 'Why this backend',
    cores: 'Cores used for training',
    coresValue: '{used} of {cores}',
    onnxLoaded: 'loaded',
    onnxMissing: 'not loaded',
    gpu: 'NVIDIA GPU',
    gpuSeen: 'visible (its driver is there)',
    gpuNone: 'none visible',
    runtime: 'Runtime',
    adviceTitle: 'How to train faster on this machine',
    noAdvice: 'Nothing to improve: training already runs on the fastest backend this machine has.',
    copy: 'Copy',
    copied: 'Copied',
    copyTitle: 'Copy the command, to run in the folder the studio is installed in',
    copyManually: 'No clipboard here: the command is selected, press Ctrl+C to copy it.',
    cliHint: 'The same report in a terminal:'
  },
  review: {
    title: 'Data review',
    intro:
      'Finds images whose label is probably wrong (a model that never saw them disagrees), near-identical images, leaks between splits, and outliers.',
    start: 'Run a review',
    again: 'Run the review again',
    cancel: 'Cancel',
    starting: 'Starting the review…',
    none: 'No review of this project yet. A review of a few hundred images takes a minute or two.',
    restored: 'Last review from {date}, restored. Images removed from the library since are left out.',
    unlabelled: 'unlabelled',
    stageFold: '{stage}: fold {fold} of {folds}',
    stage: {
      embedding: 'Reading the images',
      features: 'Computing features',
      training: 'Training the check models',
      predicting: 'Checking each image',
      duplicates: 'Looking for near-duplicates',
      map: 'Drawing the map',
      finished: 'Finishing'
    },
    split: { train: 'train', val: 'validation', test: 'test', none: 'no split' },
    accepted: 'Relabelled as {name} (Ctrl+Z in the library undoes it)',
    kept: 'Kept the label {name}',
    health: {
      title: 'Health',
      images: '{n} images, {labelled} labelled',
      imbalance: 'Largest class / smallest class: {ratio}×',
      sizes: 'Image sizes: smallest {min}, median {median}, largest {max} px',
      method:
        'Checked by {folds}-fold cross-validation: {accuracy} of labels agree with the model; took {seconds} s',
      fewImages: '{name} has only {n} images',
      missingSplit: '{name} is missing from a split in use'
    },
    queue: {
      title: 'Possibly wrong labels ({n})',
      keys: 'Keys: Enter or A accepts the suggestion, K keeps the label, S or → skips, O opens it in the library, ↑/↓ move.',
      empty: 'No label looks wrong.',
      label: 'Labelled',
      suggested: 'Suggested',
      scoreTitle: 'How likely the label is wrong (0 to 1)',
      accept: 'Accept (A)',
      keep: 'Keep (K)',
      skip: 'Skip (S)',
      open: 'Open in library (O)'
    },
    dups: {
      title: 'Near-duplicates: {n} pairs, {leaks} across splits',
      none: 'No near-identical images.',
      leak: 'leak',
      similarity: 'How alike the two images are (cosine similarity of their embeddings)',
      leakTitle: 'The two images sit in different splits: the model is tested on what it trained on'
    },
    map: {
      title: 'Embedding map',
      hint: 'Each image near the images it looks like, coloured by class. Hover a point to see the image; click it to open it in the library; drag over a region to select its images; click a class in the legend to hide it.',
      method: {
        umap: 'Drawn with UMAP (umap-js) from each image’s nearest neighbours: nearby points look alike; distances between far-apart groups mean little.',
        umapSampled:
          'Drawn with UMAP (umap-js), fitted on {fitted} of the {n} images; each of the others sits beside the fitted image it is most like.',
        pca: 'Drawn with PCA: the two directions the images vary most along.',
        pcaFew:
          'Drawn with PCA (the two directions the images vary most along): UMAP needs at least 16 images.',
        pcaFailed:
          'Drawn with PCA (the two directions the images vary most along): UMAP failed on these images.'
      },
      tool: 'Select with',
      rect: 'Rectangle',
      lasso: 'Lasso',
      selected: '{n} image selected | {n} images selected',
      selectedHidden: '(classes hidden in the legend are left out)',
      showInLibrary: 'Show in library',
      labelAs: 'Label as…',
      clear: 'Clear'
    },
    outliers: {
      title: 'Outliers ({n})',
      none: 'No image stands out.'
    }
  }
}
