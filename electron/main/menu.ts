// The application menu, in the user's language: File (add folder, rescan), Edit (text editing, undo
// delete), View, Help. The labels of main's own dialogs live here too.
import { Menu, type MenuItemConstructorOptions } from 'electron';
import type { Language } from '../shared/api.ts';

const LABELS = {
  en: {
    file: 'File',
    addFolder: 'Add Folder…',
    rescan: 'Rescan All Folders',
    quit: 'Quit',
    edit: 'Edit',
    undoDelete: 'Undo Last Delete',
    view: 'View',
    help: 'Help',
    about: 'About Photo Dedup',
    openDataFolder: 'Open Data Folder',
    chooseFolders: 'Choose folders to scan',
    chooseDestination: 'Choose where to move the files',
    chooseImage: 'Choose a photo to search for',
    images: 'Images',
    undoFailed: 'Some files could not be restored',
    engineFailed: 'The photo engine stopped',
    aboutDetail: 'Finds exact and near-duplicate photos.',
  },
  'zh-CN': {
    file: '文件',
    addFolder: '添加文件夹…',
    rescan: '重新扫描所有文件夹',
    quit: '退出',
    edit: '编辑',
    undoDelete: '撤销上次删除',
    view: '视图',
    help: '帮助',
    about: '关于 Photo Dedup',
    openDataFolder: '打开数据文件夹',
    chooseFolders: '选择要扫描的文件夹',
    chooseDestination: '选择文件的移动位置',
    chooseImage: '选择要查找的照片',
    images: '图片',
    undoFailed: '部分文件无法恢复',
    engineFailed: '照片引擎已停止',
    aboutDetail: '查找完全相同和近似重复的照片。',
  },
} satisfies Record<Language, Record<string, string>>;

export type Labels = (typeof LABELS)['en'];

export function labelsFor(language: Language): Labels {
  return LABELS[language];
}

export interface MenuActions {
  addFolder(): void;
  rescan(): void;
  undoDelete(): void;
  about(): void;
  openDataFolder(): void;
}

export const UNDO_DELETE_ID = 'undo-delete';

export function buildMenu(language: Language, actions: MenuActions, options: { isDev: boolean; isMac: boolean; canUndo: boolean }): Menu {
  const t = labelsFor(language);
  const template: MenuItemConstructorOptions[] = [
    ...(options.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: t.file,
      submenu: [
        { label: t.addFolder, accelerator: 'CmdOrCtrl+O', click: () => actions.addFolder() },
        { label: t.rescan, accelerator: 'F5', click: () => actions.rescan() },
        { type: 'separator' },
        options.isMac ? { role: 'close' } : { role: 'quit', label: t.quit },
      ],
    },
    {
      label: t.edit,
      submenu: [
        // Text editing in the page's fields keeps the usual shortcuts; undoing a delete has its own.
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
        { type: 'separator' },
        { id: UNDO_DELETE_ID, label: t.undoDelete, accelerator: 'CmdOrCtrl+Alt+Z', enabled: options.canUndo, click: () => actions.undoDelete() },
      ],
    },
    {
      label: t.view,
      submenu: [
        ...(options.isDev ? [{ role: 'reload' as const }, { role: 'toggleDevTools' as const }, { type: 'separator' as const }] : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      role: 'help',
      label: t.help,
      submenu: [
        { label: t.openDataFolder, click: () => actions.openDataFolder() },
        ...(options.isMac ? [] : [{ label: t.about, click: () => actions.about() }]),
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
