// Builds what the relay serves: static/widget/*.{js,css} → static/widget/build/ (committed to git,
// shipped in the wheel). `npm run build` (or `make widget`) writes it; `--outdir DIR` writes
// elsewhere, which is how tests/widget/test_build.py notices a stale build.
//
// Browser target: the oldest browsers in which the widget still works (see README.md,
// "Browser baseline"). esbuild lowers any newer syntax in our sources to what they parse.
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const TARGET = ["chrome80", "edge80", "firefox98", "safari15.4"];

const SOURCE_DIR = dirname(fileURLToPath(import.meta.url));
// dialog.js first: the loader carries its versioned name and integrity hash.
const SCRIPTS = ["dialog.js", "loader.js", "form.js", "altcha.js", "board.js", "console.js"];
const STYLESHEETS = ["form.css", "demo/demo.css", "board.css", "console.css"];

function outdirFromArgs(argv) {
  const at = argv.indexOf("--outdir");
  return at >= 0 && argv[at + 1] ? resolve(argv[at + 1]) : join(SOURCE_DIR, "build");
}

// `import css from "./banner.css"` in a script gets the stylesheet minified, as a string: the
// loader puts it into its Shadow DOM itself, so it costs no second request.
const inlineMinifiedCss = {
  name: "inline-minified-css",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const { code } = await esbuild.transform(source, {
        loader: "css", minify: true, target: TARGET, charset: "utf8", sourcefile: args.path,
      });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

export async function build(outdir) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const common = {
    bundle: true,
    minify: true,
    target: TARGET,
    charset: "utf8", // Vietnamese texts stay as UTF-8 bytes, not \u escapes (smaller, readable)
    legalComments: "inline",
    logLevel: "warning",
    absWorkingDir: SOURCE_DIR,
  };
  const script = (name, define) => esbuild.build({
    ...common,
    entryPoints: [join(SOURCE_DIR, name)],
    outdir,
    format: "iife",
    plugins: [inlineMinifiedCss],
    define,
  });
  await script("dialog.js");
  // The name the relay serves it under (widget_server/assets.py: sha256, 10 hex digits) and its
  // Subresource Integrity hash, so a pinned loader always gets the dialog it was built with.
  const dialog = await readFile(join(outdir, "dialog.js"));
  const hash10 = createHash("sha256").update(dialog).digest("hex").slice(0, 10);
  // SHA-256: as strong a check as SRI needs here, and 20 bytes shorter in the loader than SHA-384.
  const integrity = "sha256-" + createHash("sha256").update(dialog).digest("base64");
  await script("loader.js", {
    DIALOG_FILE: JSON.stringify(`dialog.${hash10}.js`),
    DIALOG_INTEGRITY: JSON.stringify(integrity),
  });
  for (const name of SCRIPTS.slice(2)) await script(name);
  await esbuild.build({
    ...common,
    entryPoints: STYLESHEETS.map((name) => ({ in: join(SOURCE_DIR, name), out: name.replace(/\.css$/, "") })),
    outdir,
    loader: { ".css": "css" },
  });
  return [...SCRIPTS, ...STYLESHEETS].map((name) => relative(outdir, join(outdir, name)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = outdirFromArgs(process.argv.slice(2));
  const files = await build(outdir);
  console.log(`built ${files.join(", ")} → ${relative(process.cwd(), outdir) || "."}`);
}
