// esbuild bundles imported CSS into the dashboard's stylesheet; for the type checker it is a module without exports.
declare module '*.css';
