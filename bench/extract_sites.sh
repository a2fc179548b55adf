#!/usr/bin/env bash
# Build extra benchmark sites from real documentation sources found on this machine, with
# generators the Debian packages do not cover:
#   flask-furo, flask-rtd, flask-pydata   Sphinx with the furo, Read the Docs and pydata themes,
#                                         from python-flask-doc's _sources (reST)
#   nodejs-material                       MkDocs Material from nodejs-doc's api/*.md.gz
#   nodejs-vitepress                      VitePress from the same Markdown (npm package vitepress@1)
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
  "$VENV/bin/pip" install -q sphinx furo sphinx-rtd-theme pydata-sphinx-theme mkdocs-material
}
mkdir -p "$SITES_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -d "$FLASK_SRC" ]; then
  # the reST sources, as the project wrote them (_sources keeps them with a .txt suffix)
  mkdir -p "$work/flask"
  (cd "$FLASK_SRC" && find . -name '*.rst.txt' | while read -r f; do
     mkdir -p "$work/flask/$(dirname "$f")"; cp "$f" "$work/flask/${f%.txt}"; done)
  for theme in furo:flask-furo sphinx_rtd_theme:flask-rtd pydata_sphinx_theme:flask-pydata; do
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
  for f in "$NODE_API"/*.md.gz; do
    base=$(basename "$f" .md.gz)
    [ "$base" = all ] && continue
    # HTML comments (the YAML history) are not rendered by MkDocs: leave them out of the source
    zcat "$f" | python3 -c 'import re,sys; sys.stdout.write(re.sub(r"<!--.*?-->", "", sys.stdin.read(), flags=re.S))' \
      >"$work/node/docs/$base.md"
  done
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
fi

# VitePress from the same Node.js Markdown (pages Vue cannot compile are left out)
if [ -d "$NODE_API" ] && command -v npm >/dev/null; then
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
