// What main-process modules need of Electron that plain Node lacks, and nothing more: `protocol.handle`
// (for electron/main/thumbnails.ts). A module-resolution hook answers `import ... from 'electron'`
// with a stub that records the handlers, so the real protocol code runs under the tests.
import { register } from 'node:module';

export type ProtocolHandler = (request: Request) => Promise<Response>;

const STUB = `
const handlers = (globalThis.__electronStubProtocolHandlers ??= new Map());
export const protocol = { handle(scheme, handler) { handlers.set(scheme, handler); } };
export default { protocol };
`;

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(STUB)}), shortCircuit: true };
  return next(specifier, context);
}
`;

let installed = false;

/** Makes `import 'electron'` load the stub; call before importing a module that needs it. */
export function installElectronStub(): void {
  if (installed) return;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
  installed = true;
}

/** The handler a module registered with protocol.handle(scheme, ...). */
export function protocolHandler(scheme: string): ProtocolHandler {
  const handlers = (globalThis as { __electronStubProtocolHandlers?: Map<string, ProtocolHandler> }).__electronStubProtocolHandlers;
  const handler = handlers?.get(scheme);
  if (!handler) throw new Error(`no protocol handler registered for ${scheme}`);
  return handler;
}
