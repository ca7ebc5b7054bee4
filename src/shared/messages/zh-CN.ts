// The backend's user-facing messages in Simplified Chinese: the same keys and parameters as ./en.ts
// (test/shared/messages.test.ts checks both).
import type { MessageKey } from './en'

export const zhCN: Record<MessageKey, string> = {
  internal: '内部错误（编号 {id}）；详细信息见应用日志',
  detail: '{detail}',

  'sqlite.busy': '项目正被另一个程序使用，请重试',
  'sqlite.readonly': '项目以只读方式打开（其文件或文件夹无法写入）；请复制项目或修改其权限后再做更改',
  'sqlite.corrupt': '项目文件已损坏，请从备份恢复',
  'sqlite.notadb': '这不是 Transfer Studio 项目（该文件不是 SQLite 数据库）',
  'sqlite.full': '磁盘已满，请释放一些空间后重试',
  'sqlite.ioerr': '无法读写项目文件（磁盘错误），请检查磁盘后重试',
  'sqlite.cantopen': '无法打开项目文件，请检查该文件及其文件夹是否存在且可读',
  'sqlite.perm': '权限不足：无法修改项目文件',
  'sqlite.nomem': '处理项目时内存不足，请关闭其他程序后重试',
  'sqlite.toobig': '某个值太大，无法存入项目',
  'sqlite.interrupt': '操作被中断，请重试',
  'sqlite.readonlyDirectory':
    '项目所在文件夹无法写入，而 SQLite 需要在项目旁保存锁文件；请把项目复制到可写的文件夹',
  'sqlite.readonlyCantinit': '项目的锁文件（-shm）无法写入；请把项目复制到可写的文件夹',
  'sqlite.readonlyDbmoved': '项目文件在打开期间被移动或删除，请重新打开',
  'fs.notFound': '找不到文件："{name}"',
  'fs.notFoundAnon': '找不到文件',
  'fs.permission': '权限不足：本应用无法读取或修改"{name}"',
  'fs.permissionAnon': '权限不足：本应用无法读取或修改该文件',
  'fs.isDir': '"{name}"是文件夹，不是文件',
  'fs.isDirAnon': '该路径是文件夹，不是文件',
  'fs.notDir': '"{name}"不是文件夹',
  'fs.notDirAnon': '该路径不是文件夹',
  'fs.full': '磁盘已满（写入"{name}"时）；请释放一些空间后重试',
  'fs.fullAnon': '磁盘已满，请释放一些空间后重试',
  'fs.exists': '"{name}"已存在',
  'fs.existsAnon': '该文件已存在',
  'fs.readOnly': '"{name}"位于只读磁盘上',
  'fs.readOnlyAnon': '该文件位于只读磁盘上',
  'fs.busy': '"{name}"正被另一个程序使用，请重试',
  'fs.busyAnon': '该文件正被另一个程序使用，请重试',
  'fs.tooManyFiles': '打开的文件过多，请重试',
  'fs.nameTooLong': '文件名或路径过长',
  'fs.loop': '"{name}"是循环的符号链接',
  'fs.loopAnon': '该文件是循环的符号链接',
  'fs.notEmpty': '文件夹"{name}"不是空的',
  'fs.notEmptyAnon': '该文件夹不是空的',
  'fs.io': '无法读写"{name}"（磁盘错误）',
  'fs.ioAnon': '无法读写该文件（磁盘错误）',

  'project.exists': '{path} 处已有文件；请打开它或换一个名称',
  'project.notFound': '找不到项目文件：{path}',
  'project.isFolder': '无法打开项目 {path}：这不是 Transfer Studio 项目（它是文件夹，不是文件）',
  'project.emptyFile': '无法打开项目 {path}：这不是 Transfer Studio 项目（文件为空）',
  'project.cannotOpen': '无法打开项目 {path}：{reason}',
  'project.noneOpen': '尚未打开项目：请先创建或打开一个项目',
  'project.emptyReadOnly': '这不是 Transfer Studio 项目（空的 SQLite 数据库，且文件为只读）',
  'project.upgradeReadOnly':
    '项目需要升级到第 {target} 版结构（当前为第 {version} 版），但文件为只读；请复制项目或修改其权限',

  'import.folderNotFound': '找不到要导入的文件夹：{path}',
  'import.notAFolder': '不是文件夹：{path}',
  'import.cannotReadNames': '无法读取类别名称 CSV {path}：{reason}',
  'import.cannotReadAnnotations': '无法读取标注 CSV {path}：{reason}',
  'import.noCsv': '在 {path} 中没有找到 GTSRB 标注 CSV；请指定一个（annotationsCsv）或选择其他标签来源',
  'import.running': '导入 {id} 仍在进行；请取消或等待其完成',
  'importFile.cannotOpenFolder': '无法打开文件夹：{reason}',
  'importFile.loop': '符号链接循环：文件夹 {path} 已访问过，已跳过',
  'importFile.cannotList': '无法列出文件夹内容：{reason}',
  'importFile.brokenLink': '符号链接已失效：其目标不存在',
  'importFile.linkLoop': '符号链接循环：该链接指向它自己',
  'importFile.cannotFollow': '无法跟随符号链接：{reason}',
  'importFile.cannotRead': '无法读取文件：{reason}',
  'importFile.permission': '权限不足',
  'importFile.notFound': '找不到文件',
  'importFile.isFolder': '是文件夹',

  'library.imageNotFound': '找不到图像 {id}',
  'library.classNotFound': '找不到类别 {id}',
  'library.keyTaken': '已有类别使用按键"{key}"',
  'library.mergeSelf': '不能把类别合并到它自己',
  'library.reassignSelf': '不能把类别重新分配给它自己',
  'library.imagesNotFound': '找不到图像：{ids}',

  'training.processStopped': '训练进程意外停止（{reason}）',
  'training.busy': '运行 {id} 仍在训练；请取消或等待其完成',
  'training.runNotFound': '在此项目中找不到运行 {id}',
  'training.completed': '运行 {id} 已完成；请开始新的运行',
  'training.baseRunNotFound': '在此项目中找不到基础运行 {id}',
  'training.baseNotFound': '找不到基础模型：{path}',
  'training.noModel': '运行 {id} 没有训练好的模型（状态：{status}）',
  'training.noTestImages': '测试集中没有此模型所认识类别的图像：请先划分数据集',
  'training.fewClasses':
    '训练需要训练集中至少 2 个类别的已标注图像（当前 {count} 个）；请先标注图像并划分数据集',
  'training.noCheckpoint': '运行 {id} 没有可恢复的检查点（它在第一个轮次结束前就停止了）',
  'training.baseNotCompleted': '运行 {id} 尚未完成（状态：{status}），没有可作为起点的模型',
  'training.baseNoModel': '运行 {id} 没有可作为起点的训练模型（其模型文件夹缺失）',
  'training.refused': '无法开始运行：{detail}',
  'training.noHub': '模型库模型 {id}：此进程中没有模型库',
  'training.owned':
    '运行 {id} 正由另一个进程训练（{host} 上的 pid {pid}，上次心跳在 {ago} 秒前）；请等它结束或先停止该进程',
  'training.failed': '运行失败：{detail}',

  'weights.invalid': '无法使用该基础模型：{detail}',
  'base.none': '没有基础模型：网络从随机权重开始。',
  'base.onnxFineTune':
    'ONNX 模型只用作冻结的特征提取器：请选择特征提取，或选择 .pth 或模型库中的模型来微调。',
  'base.runNotCompleted': '运行 {id} 尚未完成（状态：{status}），没有可作为起点的模型。',
  'base.nothingAt': '{path} 处什么也没有。',
  'base.unusable': '无法使用 {name}：{detail}',
  'base.folderNpy': '{path} 是文件夹；请选择 bvlc-alexnet.npy 文件。',
  'base.folderPth': '{path} 是文件夹；请选择 .pth 文件。',
  'base.folderOnnx': '{path} 是文件夹；请选择 .onnx 文件。',
  'base.noHub': '此进程中没有模型库。',
  'base.notInCatalogue': '模型目录中没有模型"{id}"。',
  'base.notDownloaded': '{name} 尚未下载（{mb} MB）：请先下载。',
  'base.noFeatureOutput': '没有找到特征输出（输出：{outputs}）；请指定要使用的输出。',
  'base.noOutput': '该模型没有名为"{output}"的输出。',
  'base.bvlcFullWidthConvs':
    '全宽 AlexNet 卷积层，带 {fcLayers}（各 {units} 个单元），不是完整的 BVLC 文件；可以使用 conv1-conv5。',
  'base.bvlcFullWidthConvsOnly':
    '全宽 AlexNet 卷积层，没有全连接层，不是完整的 BVLC 文件；可以使用 conv1-conv5。',
  'base.bvlcReduced':
    '缩小版 AlexNet（宽度 {width}：conv1 有 {filters} 个滤波器，{fcLayers} 各 {units} 个单元），不是完整的 BVLC 权重；请把模型宽度设为与之一致。',
  'base.bvlcReducedConvsOnly':
    '缩小版 AlexNet（宽度 {width}：conv1 有 {filters} 个滤波器，没有全连接层），不是完整的 BVLC 权重；请把模型宽度设为与之一致。',
  'base.pth':
    '{arch} 的 state dict（{tensors} 个张量，{format} 格式，{classes} 类的输出层将由新的输出层替换）。',
  'base.onnx':
    'ONNX 图像模型：输入"{input}"，{layout} {size} x {size}，特征取自"{feature}"（{dim} 个值）；模型保持冻结，只训练新的输出层。',
  'base.onnxNoDim':
    'ONNX 图像模型：输入"{input}"，{layout} {size} x {size}，特征取自"{feature}"；模型保持冻结，只训练新的输出层。',
  'base.fromHub': '模型库中的 {name}：{reason}',
  'base.studioIsFile': '{path} 是一个文件；请选择包含 model.json 的文件夹。',
  'base.studioNoModel': '{path} 中没有 model.json，因此不是 Transfer Studio 模型文件夹。',
  'base.studioNoMetadata': '一个有 {layers} 层的 TF.js 模型，但没有 metadata.json。',
  'base.studioNotOurs': '{path}/metadata.json 不是 Transfer Studio 的模型描述。',
  'base.studioAlexnet':
    'Transfer Studio 训练的 AlexNet（宽度 {width}），策略 {strategy}，{classes} 个类别，输入 {size} 像素。',
  'base.studioCompact':
    'Transfer Studio 训练的紧凑 CNN，策略 {strategy}，{classes} 个类别，输入 {size} 像素：微调和特征提取从 AlexNet 的 fc7 层开始，而它没有这一层。',
  'base.studioNoFc7':
    'Transfer Studio 训练的 AlexNet（宽度 {width}），策略 {strategy}，{classes} 个类别，输入 {size} 像素：微调和特征提取从 AlexNet 的 fc7 层开始，而它没有这一层。',
  'base.bvlcFull': '完整的 BVLC AlexNet 权重（conv1-conv5，fc6-fc8 各 4096 个单元），输入为 227 像素。',

  'image.unreadable': '无法读取图像 {path}：{reason}',
  'image.undecodable': '无法解码图像 {path}：{reason}',
  'image.unsupported': '不支持的图像格式',
  'image.tooLarge': '图像为 {width} x {height} 像素（{mp} 百万像素），超过查看时解码的上限 {max} 百万像素。',
  'image.moved': '找不到文件（导入后被移动或删除了？）',

  'export.isFile': '导出目标 {path} 已存在且是文件；请选择一个新文件夹',
  'export.notEmpty': '导出目标 {path} 不是空的；请选择新的或空的文件夹（未写入任何内容）',
  'export.notWritable': '无法写入导出目标 {path}：{reason}',
  'export.notExportFolder': '{path} 不是导出文件夹（没有 metadata.json）',
  'export.problemFile': '{path} 是文件；请选择新的或空的文件夹。',
  'export.problemNotEmpty': '{path} 不是空的；请选择新的或空的文件夹。',
  'export.problemNoPermission': '没有在 {path} 中写入的权限。',
  'export.problemNoParent': '{path} 的上级文件夹都不存在。',
  'export.problemParentFile': '{parent} 是文件，无法在其中创建文件夹。',
  'export.problemParentReadOnly': '没有创建 {path} 的权限（{parent} 不可写）。',

  'exportFile.metadata': '标签（输出序号到类别）、预处理、策略和指标。',
  'exportFile.model': 'TF.js 层模型：网络结构和权重清单。',
  'exportFile.onnx': '同一网络的 ONNX 版本（NHWC float32 输入），供 onnxruntime 等工具使用。',
  'exportFile.base': '训练分类头时使用的冻结 ONNX 基础模型（你的模型的副本），供 onnxruntime 使用。',
  'exportFile.head': '训练好的分类头：输入基础模型的特征，输出类别概率（见 README.md）。',
  'exportFile.labels': '输出序号到类别：按输出顺序列出每个类别的编号、按键和名称。',
  'exportFile.readme': '如何把图像输入模型并读取其输出。',
  'exportFile.shard': 'TF.js 权重分片（二进制 float32），由 model.json 引用。',
  'exportFile.other': '训练模型文件夹的一部分。',

  'hub.failed': '{id} 下载失败：{reason}',
  'hub.hashMismatch': '{id} 的下载已损坏（校验和不匹配），已删除，请重试',
  'hub.cancelled': '{id} 的下载已取消',

  'doctor.summary':
    'TF.js 后端：{backend}（{why}）；训练使用 {cores} 个核心中的 {used} 个；onnxruntime：{onnx}',
  'doctor.onnxLoaded': '已加载',
  'doctor.onnxMissing': '不可用',
  'doctor.why.forced': '由 TS_BACKEND 指定',
  'doctor.why.first': '首选后端',
  'doctor.why.nativeMissing': '未安装 tfjs-node',
  'doctor.why.gpuOptIn': '未安装 tfjs-node-gpu（需要手动选择安装）',
  'doctor.why.skipped': '跳过了前面的后端：{detail}',
  'doctor.advice.gpu':
    '检测到 NVIDIA GPU：TensorFlow 的 GPU 版本（tfjs-node-gpu）可以用它训练。默认不安装，下面的命令会安装它。它需要 NVIDIA 驱动，以及库路径上的 CUDA 11.2 和 cuDNN 8.1；安装后用 TS_BACKEND=tfjs-node-gpu 运行，检查它能否加载。',
  'doctor.advice.native':
    'CPU 上的原生 TensorFlow（tfjs-node）：它的预编译绑定是 N-API 8，由于 N-API 的 ABI 稳定，本机的 Node（N-API {napi}）可以运行它。安装时会下载 libtensorflow，因此需要联网一次（见 README 中讲更快后端的一节）。',
  'doctor.advice.noBinding': 'tfjs-node 没有为 {target} 发布绑定：在这里 WebAssembly 后端最快。',
  'doctor.advice.simdOff':
    'WebAssembly SIMD 未启用：更新的 Node 或 Electron（Node 16.4 起的任何版本）会启用它，速度约快 2-3 倍。',
  'doctor.advice.cpu': '纯 JavaScript 后端最慢：取消 TS_BACKEND 的设置，或重新安装以使用 WebAssembly。',
  'doctor.advice.cores':
    '在 WebAssembly 上训练使用 {cores} 个核心中的 {used} 个（每个核心一个线程，默认最多 {max} 个，TS_TRAIN_THREADS 可设得更多，最多 64 个）；原生后端会用上全部核心。',
  'doctor.advice.onnx':
    'onnxruntime-node 未能加载（{reason}）：请用下面的命令重新编译它；ONNX 基础模型和导出检查需要它。',
  'doctor.advice.onnxNoReason':
    'onnxruntime-node 未能加载：请用下面的命令重新编译它；ONNX 基础模型和导出检查需要它。',

  'upload.tooMany': '等待使用的上传过多（{max} 个）',
  'upload.tooMuchSpace': '等待使用的上传占用空间过多，请稍后重试',
  'upload.empty': '上传的文件为空',
  'upload.gone': '上传的文件已不存在（已过期或已被使用）；请重新发送',
  'upload.tooLarge': '文件超过了上传允许的 {mb} MB',

  'review.busy': '已有一次审查正在运行；请等待其完成或将其取消',
  'review.cancelled': '审查已取消',
  'review.tooFewClasses': '审查至少需要 2 个类别的已标注图像；此项目只有 {count} 个',
  'review.tooFewImages': '{folds} 折审查至少需要 {folds} 张已标注图像；此项目只有 {count} 张',
  'review.baseKind': '审查的基础模型必须是模型库模型或基础模型文件（bvlc-alexnet.npy、.pth 或 .onnx）',
  'review.imageNotFound': '在此项目中找不到图像 {id}',
  'review.classRequired': '接受建议时需要指定图像的新类别',
  'review.classNotFound': '在此项目中找不到类别 {id}',
  'review.processStopped': '审查已停止：{reason}'
}
