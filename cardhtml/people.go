package cardhtml

import (
	"hash/fnv"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// look is how a person component shows people.
type look struct {
	avatar, name bool
	size         string
}

// personLook reads show_avatar, show_name and size; Feishu shows both avatar
// and name unless told otherwise.
func personLook(el map[string]any) look {
	l := look{avatar: el["show_avatar"] != false, name: el["show_name"] != false, size: "medium"}
	switch s := str(el["size"]); s {
	case "extra_small", "small", "medium", "large":
		l.size = s
	}
	if !l.avatar && !l.name {
		l.name = true
	}
	return l
}

// avatarColors is how many avatar colours the stylesheet defines
// (.fc-avatar-0 ... .fc-avatar-9).
const avatarColors = 10

// person writes one person: an avatar circle with the initials of the name,
// coloured by the open id so a person keeps their colour, then the name.
func (r *renderer) person(id string, l look) {
	name := ""
	if r.opts.Person != nil && id != "" {
		name = r.opts.Person(id)
	}
	shown := name
	if shown == "" {
		shown = shortID(id)
	}
	r.w(`<span class="fc-person fc-person-` + l.size + `" data-open-id="`)
	r.esc(id)
	r.w(`" title="`)
	r.esc(id)
	r.w(`">`)
	if l.avatar {
		h := fnv.New32a()
		h.Write([]byte(id))
		r.w(`<span class="fc-avatar fc-avatar-` + strconv.Itoa(int(h.Sum32()%avatarColors)) + `" aria-hidden="true">`)
		r.esc(initials(name))
		r.w(`</span>`)
	}
	if l.name {
		r.w(`<span class="fc-person-name">`)
		r.esc(shown)
		r.w(`</span>`)
	}
	r.w(`</span>`)
}

// shortID shows an unknown id the way one recognises it: its start and end.
func shortID(id string) string {
	if id == "" {
		return "unknown user"
	}
	if utf8.RuneCountInString(id) <= 12 {
		return id
	}
	rs := []rune(id)
	return string(rs[:6]) + "…" + string(rs[len(rs)-4:])
}

// initials are what a Feishu default avatar shows: the last two characters of
// a Chinese name (the given name), else the first letters of the first two
// words, in capitals. An unknown name gets "?".
func initials(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return "?"
	}
	rs := []rune(name)
	if unicode.Is(unicode.Han, rs[0]) {
		if len(rs) > 2 {
			rs = rs[len(rs)-2:]
		}
		return string(rs)
	}
	var out []rune
	for _, w := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(w)
		out = append(out, unicode.ToUpper(r))
		if len(out) == 2 {
			break
		}
	}
	return string(out)
}
