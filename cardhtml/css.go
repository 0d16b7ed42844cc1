package cardhtml

import _ "embed"

//go:embed cards.css
var css []byte

// CSS is the stylesheet for Render's output. Every call returns a fresh copy,
// so no caller can change what the next one gets.
func CSS() []byte { return append([]byte(nil), css...) }
