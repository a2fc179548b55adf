"""Generator rules switched off: the leave-one-generator-out benchmark's generic path."""
import pytest

from spiders.extract.page import extract_page
from spiders.extract.rules import GENERATORS

SPHINX = """<html><head><title>Install - Demo</title></head><body>
<div class="related" role="navigation"><ul><li><a href="index.html">Demo docs</a></li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main"><section><h1>Install<a class="headerlink" href="#install">¶</a></h1>
<p>Install the package with pip, then import it from your own code to get started.</p>
<div class="highlight-python notranslate"><div class="highlight"><pre>import demo
demo.run()</pre></div></div>
</section></div></div></div></div></body></html>"""

MDBOOK = """<html><head><title>Hello - The Book</title></head><body>
<div id="content"><main><h1>Hello</h1><p>A first program prints a greeting to the terminal.</p>
<pre><pre class="playground"><code class="language-rust"><span class="boring">fn main() {
</span>    println!("hi");
<span class="boring">}</span></code></pre></pre></main></div></body></html>"""


def test_nothing_disabled_is_the_default_path():
    assert extract_page(SPHINX, "http://docs.test/install.html", disabled=()).markdown == \
        extract_page(SPHINX, "http://docs.test/install.html").markdown


def test_a_generators_code_language_convention_can_be_switched_off():
    on = extract_page(SPHINX, "http://docs.test/install.html").markdown
    off = extract_page(SPHINX, "http://docs.test/install.html", disabled={"sphinx"}).markdown
    assert "```python\nimport demo" in on
    # without Sphinx's own convention, the generic path still reads the class that names a
    # language it knows ("highlight-python"), and nothing from one it does not ("highlight-pycon")
    assert "```python\nimport demo" in off
    pycon = SPHINX.replace("highlight-python", "highlight-pycon")
    assert "```pycon\nimport demo" in extract_page(pycon, "http://docs.test/install.html").markdown
    assert "```\nimport demo" in extract_page(pycon, "http://docs.test/install.html", disabled={"sphinx"}).markdown
    assert "Install the package with pip" in off  # the generic path still finds the content


def test_mdbook_hidden_lines_kept_when_its_rules_are_off():
    on = extract_page(MDBOOK, "http://docs.test/hello.html").markdown
    off = extract_page(MDBOOK, "http://docs.test/hello.html", disabled={"mdbook"}).markdown
    assert "fn main()" not in on and 'println!("hi");' in on
    assert "fn main()" in off


def test_unknown_generator_names_are_refused():
    assert "sphinx" in GENERATORS
    with pytest.raises(ValueError, match="sphnx"):
        extract_page(SPHINX, "http://docs.test/install.html", disabled={"sphnx"})
