#!/usr/bin/env bash
# Build extra benchmark sites from real documentation sources found on this machine, with
# generators the Debian packages do not cover:
#   flask-furo, flask-rtd, flask-pydata   Sphinx with the furo, Read the Docs and pydata themes,
#                                         from python-flask-doc's _sources (reST)
#   nodejs-material                       MkDocs Material from nodejs-doc's api/*.md.gz
#   nodejs-vitepress                      VitePress from the same Markdown (npm package vitepress@1)
#   flask-book, flask-agogo, flask-bizstyle  Sphinx with sphinx-book-theme and two built-in themes
#   flask-shibuya, flask-piccolo          two more Sphinx themes, added untuned as held-out checks
#   nodejs-mkdocs, nodejs-mkdocs-rtd      MkDocs with its own two themes (mkdocs, readthedocs)
#   nodejs-docusaurus                     Docusaurus 3 (classic preset) from the Node.js Markdown
#   nodejs-starlight                      Starlight (Astro) from the same Markdown
#   pdoc-pygments                         pdoc (Python API docs) of Pygments' core modules
#   typedoc-datefns                       TypeDoc (npm) of ten date-fns modules' declarations
# Run one part only with: bash bench/extract_sites.sh sphinx|mkdocs|vitepress|docusaurus|starlight|pdoc|typedoc
# Output: $SITES_DIR (default /tmp/docspasta-sites)/<name>/, each keeping its sources beside the
# HTML (_sources/ for Sphinx, <page>.md for MkDocs) so bench/extraction.py can score F1 on them.
# The tools go in a private virtualenv ($SITES_VENV, default /tmp/sitebuild); nothing global.
set -euo pipefail
SITES_DIR=${SITES_DIR:-/tmp/docspasta-sites}
VENV=${SITES_VENV:-/tmp/sitebuild}
FLASK_SRC=${FLASK_SRC:-/usr/share/doc/python-flask-doc/html/_sources}
NODE_API=/usr/share/doc/nodejs/api
[ -x "$VENV/bin/sphinx-build" ] && [ -x "$VENV/bin/mkdocs" ] || {
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sphinx furo sphinx-rtd-theme pydata-sphinx-theme sphinx-book-theme mkdocs-material shibuya piccolo-theme
}
[ -d "$("$VENV/bin/python" -c 'import sphinx_book_theme, os; print(os.path.dirname(sphinx_book_theme.__file__))' 2>/dev/null)" ] \
  || "$VENV/bin/pip" install -q sphinx-book-theme
"$VENV/bin/python" -c 'import shibuya, piccolo_theme' 2>/dev/null || "$VENV/bin/pip" install -q shibuya piccolo-theme
PART=${1:-all}
want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
mkdir -p "$SITES_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -d "$FLASK_SRC" ] && want sphinx; then
  # the reST sources, as the project wrote them (_sources keeps them with a .txt suffix)
  mkdir -p "$work/flask"
  (cd "$FLASK_SRC" && find . -name '*.rst.txt' | while read -r f; do
     mkdir -p "$work/flask/$(dirname "$f")"; cp "$f" "$work/flask/${f%.txt}"; done)
  for theme in furo:flask-furo sphinx_rtd_theme:flask-rtd pydata_sphinx_theme:flask-pydata \
      sphinx_book_theme:flask-book agogo:flask-agogo bizstyle:flask-bizstyle \
      shibuya:flask-shibuya piccolo_theme:flask-piccolo; do
    t=${theme%%:*}; name=${theme##*:}
    cat >"$work/flask/conf.py" <<EOF
project = "Flask"
extensions = ["sphinx.ext.autodoc"]
html_theme = "$t"
html_copy_source = True
html_show_sourcelink = True
suppress_warnings = ["*"]
EOF
    rm -rf "$SITES_DIR/$name"
    "$VENV/bin/sphinx-build" -q -b html "$work/flask" "$SITES_DIR/$name" >/dev/null 2>&1 || true
    echo "$name: $(find "$SITES_DIR/$name" -name '*.html' | wc -l) pages"
  done
fi

if [ -d "$NODE_API" ]; then
  mkdir -p "$work/node/docs"
  for f in "$NODE_API"/*.md.gz "$NODE_API"/*.md; do
    [ -f "$f" ] || continue  # Debian's nodejs-doc gzips them, NodeSource's nodejs does not
    base=$(basename "${f%.gz}" .md)
    [ "$base" = all ] && continue
    # HTML comments (the YAML history) are not rendered by MkDocs: leave them out of the source
    zcat -f "$f" | python3 -c 'import re,sys; sys.stdout.write(re.sub(r"<!--.*?-->", "", sys.stdin.read(), flags=re.S))' \
      >"$work/node/docs/$base.md"
  done
fi
if [ -d "$NODE_API" ] && want mkdocs; then
  cat >"$work/node/mkdocs.yml" <<EOF
site_name: Node.js API (MkDocs Material build)
use_directory_urls: false
theme:
  name: material
  features: [navigation.sections, content.code.copy]
markdown_extensions:
  - admonition
  - pymdownx.details
  - pymdownx.highlight: {anchor_linenums: true, line_spans: __span, pygments_lang_class: true}
  - pymdownx.superfences
  - tables
  - toc: {permalink: true}
EOF
  rm -rf "$SITES_DIR/nodejs-material"
  (cd "$work/node" && "$VENV/bin/mkdocs" build -q -d "$SITES_DIR/nodejs-material" >/dev/null 2>&1) || true
  cp "$work/node/docs/"*.md "$SITES_DIR/nodejs-material/" 2>/dev/null || true
  echo "nodejs-material: $(find "$SITES_DIR/nodejs-material" -name '*.html' | wc -l) pages"
  # MkDocs' own two themes, same sources and extensions
  for theme in mkdocs:nodejs-mkdocs readthedocs:nodejs-mkdocs-rtd; do
    t=${theme%%:*}; name=${theme##*:}
    sed "s/^  name: material/  name: $t/; /^  features:/d; s/^site_name: .*/site_name: Node.js API (MkDocs $t build)/" \
      "$work/node/mkdocs.yml" >"$work/node/mkdocs-$t.yml"
    rm -rf "$SITES_DIR/$name"
    (cd "$work/node" && "$VENV/bin/mkdocs" build -q -f "mkdocs-$t.yml" -d "$SITES_DIR/$name" >/dev/null 2>&1) || true
    cp "$work/node/docs/"*.md "$SITES_DIR/$name/" 2>/dev/null || true
    echo "$name: $(find "$SITES_DIR/$name" -name '*.html' | wc -l) pages"
  done
fi

# VitePress from the same Node.js Markdown (pages Vue cannot compile are left out)
if [ -d "$NODE_API" ] && command -v npm >/dev/null && want vitepress; then
  VP=${SITES_VP:-/tmp/vitepress-build}
  mkdir -p "$VP"
  [ -d "$VP/node_modules/vitepress" ] || (cd "$VP" && npm install --no-audit --no-fund vitepress@1 >/dev/null 2>&1)
  rm -rf "$VP/docs" && mkdir -p "$VP/docs/.vitepress"
  cp "$work/node/docs/"*.md "$VP/docs/"
  cat >"$VP/docs/.vitepress/config.mjs" <<'CFG'
export default {
  title: 'Node.js API (VitePress build)',
  ignoreDeadLinks: true,
  themeConfig: { sidebar: [{ text: 'API', items: [
    { text: 'Path', link: '/path' }, { text: 'Events', link: '/events' }, { text: 'File system', link: '/fs' },
    { text: 'HTTP', link: '/http' }, { text: 'OS', link: '/os' }, { text: 'URL', link: '/url' } ] }] },
}
CFG
  for _ in $(seq 1 30); do
    (cd "$VP" && timeout 600 npx vitepress build docs >"$VP/build.log" 2>&1) && break
    bad=$(grep -o 'docs/[A-Za-z0-9_-]*\.md' "$VP/build.log" | head -1)
    [ -n "$bad" ] || break
    rm -f "$VP/$bad"
  done
  rm -rf "$SITES_DIR/nodejs-vitepress"
  cp -r "$VP/docs/.vitepress/dist" "$SITES_DIR/nodejs-vitepress" 2>/dev/null || true
  cp "$VP/docs/"*.md "$SITES_DIR/nodejs-vitepress/" 2>/dev/null || true
  echo "nodejs-vitepress: $(find "$SITES_DIR/nodejs-vitepress" -name '*.html' 2>/dev/null | wc -l) pages"
fi

# Docusaurus 3 (classic preset), docs only, from the same Markdown. Plain .md is read as CommonMark
# (markdown.format detect), so the Node.js pages need no MDX escaping.
if [ -d "$NODE_API" ] && command -v npm >/dev/null && want docusaurus; then
  DS=${SITES_DS:-/tmp/docusaurus-build}
  mkdir -p "$DS"
  [ -d "$DS/node_modules/@docusaurus/core" ] || (cd "$DS" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund @docusaurus/core@3 @docusaurus/preset-classic@3 react@18 react-dom@18 >"$DS/npm.log" 2>&1)
  rm -rf "$DS/docs" "$DS/build" "$DS/src" && mkdir -p "$DS/docs" "$DS/src/pages"
  n=1
  for f in "$work/node/docs/"*.md; do
    # the order of the sidebar: the file order (sidebar_position), as the site's own order
    { printf -- '---\nsidebar_position: %d\n---\n' "$n"; cat "$f"; } >"$DS/docs/$(basename "$f")"; n=$((n+1))
  done
  cat >"$DS/docusaurus.config.js" <<'CFG'
module.exports = {
  title: 'Node.js API (Docusaurus build)', url: 'http://docs.test', baseUrl: '/',
  onBrokenLinks: 'ignore', onBrokenMarkdownLinks: 'ignore', onBrokenAnchors: 'ignore',
  markdown: { format: 'detect' },
  presets: [['classic', { docs: { routeBasePath: '/', sidebarPath: undefined }, blog: false,
                          theme: {} }]],
  themeConfig: { navbar: { title: 'Node.js API', items: [{ type: 'doc', docId: 'index', label: 'Docs' }] },
                 footer: { style: 'dark', copyright: 'Built with Docusaurus from the Node.js API docs.' } },
};
CFG
  for _ in $(seq 1 20); do
    (cd "$DS" && timeout 900 npx docusaurus build >"$DS/build.log" 2>&1) && break
    bad=$(grep -o 'docs/[A-Za-z0-9_-]*\.md' "$DS/build.log" | head -1)
    [ -n "$bad" ] || break
    rm -f "$DS/$bad"
  done
  rm -rf "$SITES_DIR/nodejs-docusaurus"
  cp -r "$DS/build" "$SITES_DIR/nodejs-docusaurus" 2>/dev/null || true
  cp "$DS/docs/"*.md "$SITES_DIR/nodejs-docusaurus/" 2>/dev/null || true
  echo "nodejs-docusaurus: $(find "$SITES_DIR/nodejs-docusaurus" -name '*.html' 2>/dev/null | wc -l) pages"
fi

# Starlight (Astro) from the same Markdown; Starlight wants a title in the front matter.
if [ -d "$NODE_API" ] && command -v npm >/dev/null && want starlight; then
  SL=${SITES_SL:-/tmp/starlight-build}
  mkdir -p "$SL"
  [ -d "$SL/node_modules/@astrojs/starlight" ] || (cd "$SL" && echo '{"private":true,"type":"module"}' >package.json &&
    npm install --no-audit --no-fund astro@4 @astrojs/starlight@0.28 sharp >"$SL/npm.log" 2>&1)
  rm -rf "$SL/src" "$SL/dist" && mkdir -p "$SL/src/content/docs"
  for f in "$work/node/docs/"*.md; do
    t=$(grep -m1 '^# ' "$f" | sed 's/^# //; s/"/\\"/g' || true)
    { printf -- '---\ntitle: "%s"\n---\n' "${t:-$(basename "$f" .md)}"; sed '0,/^# /{/^# /d}' "$f"; } \
      >"$SL/src/content/docs/$(basename "$f")"
  done
  cat >"$SL/src/content/config.ts" <<'CFG'
import { defineCollection } from 'astro:content';
import { docsSchema } from '@astrojs/starlight/schema';
export const collections = { docs: defineCollection({ schema: docsSchema() }) };
CFG
  cat >"$SL/astro.config.mjs" <<'CFG'
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
export default defineConfig({ integrations: [starlight({ title: 'Node.js API (Starlight build)', pagefind: false })] });
CFG
  for _ in $(seq 1 20); do
    (cd "$SL" && timeout 900 npx astro build >"$SL/build.log" 2>&1) && break
    bad=$(grep -o 'src/content/docs/[A-Za-z0-9_-]*\.md' "$SL/build.log" | head -1)
    [ -n "$bad" ] || break
    rm -f "$SL/$bad"
  done
  rm -rf "$SITES_DIR/nodejs-starlight"
  cp -r "$SL/dist" "$SITES_DIR/nodejs-starlight" 2>/dev/null || true
  # the source as written (title line kept): the page shows the front-matter title as its h1
  cp "$work/node/docs/"*.md "$SITES_DIR/nodejs-starlight/" 2>/dev/null || true
  echo "nodejs-starlight: $(find "$SITES_DIR/nodejs-starlight" -name '*.html' 2>/dev/null | wc -l) pages"
fi

if want pdoc; then
  # API documentation generators, held out: added to the benchmark untuned
  "$VENV/bin/python" -c 'import pdoc' 2>/dev/null || "$VENV/bin/pip" install -q pdoc
  rm -rf "$SITES_DIR/pdoc-pygments"
  "$VENV/bin/pdoc" -o "$SITES_DIR/pdoc-pygments" pygments pygments.formatters pygments.lexer pygments.token \
    pygments.filter pygments.filters pygments.style pygments.util pygments.formatter pygments.cmdline \
    pygments.plugin pygments.regexopt pygments.scanner pygments.sphinxext pygments.unistring pygments.modeline \
    pygments.console >/dev/null
  echo "pdoc-pygments: $(find "$SITES_DIR/pdoc-pygments" -name '*.html' | wc -l) pages"
fi

if command -v npm >/dev/null && want typedoc; then
  TD="$work/typedoc"
  mkdir -p "$TD" && (cd "$TD" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund typedoc@0.26 typescript@5.5 date-fns@3 >"$TD/npm.log" 2>&1)
  echo '{"compilerOptions": {"skipLibCheck": true}, "files": ["node_modules/date-fns/index.d.ts"]}' >"$TD/tsconfig.json"
  rm -rf "$SITES_DIR/typedoc-datefns"
  (cd "$TD" && npx typedoc --skipErrorChecking --name date-fns --out "$SITES_DIR/typedoc-datefns" \
    $(for m in add format parse addDays differenceInDays isValid startOfWeek formatDistance intervalToDuration \
      eachDayOfInterval; do printf 'node_modules/date-fns/%s.d.ts ' "$m"; done) >"$TD/build.log" 2>&1)
  echo "typedoc-datefns: $(find "$SITES_DIR/typedoc-datefns" -name '*.html' | wc -l) pages"
fi
