package cardhtml

import "testing"

// TestMarkdownRules pins how the console reads the markdown rules a card
// relies on, as the rich text component's page states them.
func TestMarkdownRules(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"one newline is a soft break", "a\nb", `<div class="fc-p">a` + "\n" + `b</div>`},
		{"CR LF and CR end lines too", "a\r\nb\rc", `<div class="fc-p">a` + "\n" + `b` + "\n" + `c</div>`},
		{"two spaces make it hard", "a  \nb", `<div class="fc-p">a<br>b</div>`},
		{"a blank line starts a paragraph", "a\n\nb", `<div class="fc-p">a</div><div class="fc-p">b</div>`},
		{"br is a line break", "a<br>b", `<div class="fc-p">a<br>b</div>`},
		{"spaces around a line are dropped", "  a \n   b  ", `<div class="fc-p">a` + "\n" + `b</div>`},
		{"a soft break inside a quote", "> a\n> b", `<div class="fc-quote">a` + "\n" + `b</div>`},
		{"four spaces make code", "    *a*\n\n      b\nc", `<pre class="fc-code"><code>*a*` + "\n\n" + `  b` + "\n" + `</code></pre><div class="fc-p">c</div>`},
		{"a tab makes code", "\t<b>", `<pre class="fc-code"><code>&lt;b&gt;` + "\n" + `</code></pre>`},
		{"indented lines continue a paragraph", "a\n    b", `<div class="fc-p">a` + "\n" + `b</div>`},
		{"indented bullets nest in a list", "- a\n    - b", `<ul class="fc-ul"><li>a</li><li>b</li></ul>`},
		{"numeric entities show their character", "&#42;a&#42; &#95;b&#95; &#126;&#126;c&#126;&#126; &#60;at id=all&#62;", `<div class="fc-p">*a* _b_ ~~c~~ &lt;at id=all&gt;</div>`},
		{"a decoded entity opens nothing", "&#35; h", `<div class="fc-p"># h</div>`},
		{"entities decode once", "&#38;#42;", `<div class="fc-p">&amp;#42;</div>`},
		{"old entities need no semicolon", "&reg &copy2 &foo &#38;reg", `<div class="fc-p">® ©2 &amp;foo &amp;reg</div>`},
		{"entities stay as written in code", "`&#42;`", `<div class="fc-p"><code class="fc-inline-code">&amp;#42;</code></div>`},
		{"underscores", "__b__ _i_ snake_case_name", `<div class="fc-p"><strong>b</strong> <em>i</em> snake_case_name</div>`},
		{"an unclosed underscore is text", "_a", `<div class="fc-p">_a</div>`},
		{"entities in a link destination", "[x](https&#58;//a.example)", `<div class="fc-p"><a class="fc-link" href="https://a.example" target="_blank" rel="noopener noreferrer">x</a></div>`},
		{"an escaped colon is no bare link", "https&#58;&#47;&#47;a.example", `<div class="fc-p">https://a.example</div>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r renderer
			r.markdown(tt.src)
			if got := r.b.String(); got != tt.want {
				t.Errorf("markdown(%q)\n got %q\nwant %q", tt.src, got, tt.want)
			}
		})
	}
}
