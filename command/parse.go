package command

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Bounds on the work one message may cost. A question is a handful of words, so
// longer text is not matched as one; "did you mean" only looks at a short word.
const (
	maxShapeLen   = 160 // bytes of a question: some 25 English words or 50 characters
	maxSuggestLen = 32  // runes of a word compared for "did you mean"
)

// Mention is one @-mention in a message event: Feishu replaces it in the text by the
// placeholder Key ("@_user_1") and lists who it is.
type Mention struct {
	Key    string // placeholder in the text, e.g. "@_user_1"
	OpenID string // the mentioned person's (or bot's) open_id
	Name   string // display name
}

// Input is one chat message to parse.
type Input struct {
	Text      string    // the message text, with mention placeholders
	Mentions  []Mention // the event's mentions
	BotOpenID string    // the bot's own open_id, to tell its mention from others
	// DefaultLang answers slash commands, which carry no language; empty means ZH.
	DefaultLang Lang
}

// Parsed is what a message asks for.
type Parsed struct {
	Spec    Spec     // the command; zero when unknown
	Known   bool     // whether the text is a command
	Args    []string // the words after the command, normalised
	Users   []string // open ids of the people @-mentioned besides the bot, in order
	Lang    Lang     // the language to answer in
	Suggest string   // a slash form the text is close to ("did you mean"); "" otherwise
	Text    string   // the normalised text, mentions stripped
}

// Parse reads a chat message. It never fails: text that is no command comes back
// with Known false, and a Suggest when it is close to one. Its cost grows linearly
// with the text.
func (r *Registry) Parse(in Input) Parsed {
	// Fold before stripping mentions, so text that only folds into a placeholder
	// ("＠_USER_1") is stripped like one and never reaches the command.
	stripped, users := stripMentions(fold(in.Text), in.Mentions, in.BotOpenID)
	text := tidy(stripped)
	p := Parsed{Users: users, Text: text, Lang: language(text, in.DefaultLang)}
	if strings.HasPrefix(text, "/") {
		name, rest, _ := strings.Cut(text[1:], " ")
		r.parseSlash(&p, name, rest)
		return p
	}
	if i, ok := r.matchShape(text); ok {
		p.Spec, p.Known = r.specs[i], true
		return p
	}
	if i, args, ok := r.matchPrefix(text, len(users) > 0); ok {
		p.Spec, p.Known, p.Args = r.specs[i], true, args
		return p
	}
	p.Suggest = r.suggestPhrase(text)
	return p
}

func (r *Registry) parseSlash(p *Parsed, name, rest string) {
	if i, ok := r.byName[name]; ok {
		p.Spec, p.Known, p.Args = r.specs[i], true, fields(rest)
		return
	}
	p.Suggest = r.suggestSlash(name)
}

// fields splits normalised text, which has single spaces only, into words.
func fields(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// stripMentions removes every mention placeholder, so "@bot /noface" and "/noface"
// read the same, and collects the people mentioned besides the bot, each once.
// Placeholders with no matching mention (and "@_all") are dropped, not kept as text.
func stripMentions(text string, mentions []Mention, botOpenID string) (string, []string) {
	if !strings.Contains(text, "@_") {
		return text, nil
	}
	var (
		b     strings.Builder
		users []string
		keys  map[string]string
	)
	b.Grow(len(text))
	for {
		i := strings.Index(text, "@_")
		if i < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		n := placeholderLen(text[i:])
		if n == 0 {
			b.WriteString("@_")
			text = text[i+2:]
			continue
		}
		key := text[i : i+n]
		text = text[i+n:]
		b.WriteByte(' ')
		if keys == nil {
			keys = mentionIDs(mentions, botOpenID)
		}
		if id := keys[key]; id != "" && !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	return b.String(), users
}

// placeholderLen is the length of the mention placeholder s starts with
// ("@_user_12", "@_all"), or 0. The digits are read whole so "@_user_12" is never
// taken for "@_user_1".
func placeholderLen(s string) int {
	const user = "@_user_"
	if strings.HasPrefix(s, user) {
		n := len(user)
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == len(user) {
			return 0
		}
		return n
	}
	if strings.HasPrefix(s, "@_all") && (len(s) == 5 || !isWordByte(s[5])) {
		return 5
	}
	return 0
}

// mentionIDs maps each placeholder to the open id of a person other than the bot.
func mentionIDs(mentions []Mention, botOpenID string) map[string]string {
	ids := make(map[string]string, len(mentions))
	for _, m := range mentions {
		if m.OpenID == "" || (botOpenID != "" && m.OpenID == botOpenID) {
			continue
		}
		if _, seen := ids[m.Key]; !seen {
			ids[m.Key] = m.OpenID
		}
	}
	return ids
}

// fold maps full-width forms to ASCII ("／ｎｏｆａｃｅ", "０９：３０", the ideographic
// space) and lower-cases.
func fold(s string) string { return strings.ToLower(width.Fold.String(s)) }

// tidy collapses runs of spaces and trims the punctuation around the whole text
// ("谁没有人脸？"). Punctuation inside is kept, so arguments such as "09:30" survive.
func tidy(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	// A Chinese input method types "、" for the "/" key; read it as the slash it was
	// meant to be when a command name follows.
	if rest, ok := strings.CutPrefix(s, "、"); ok && rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
		s = "/" + rest
	}
	return strings.TrimFunc(s, func(c rune) bool { return unicode.IsSpace(c) || isTrimmed(c) })
}

// isTrimmed is the punctuation that ends or opens a chat sentence. "/" is not one of
// them: it starts a slash command.
func isTrimmed(c rune) bool {
	return strings.ContainsRune("?!.,:;~。、…", c)
}

// language picks the reply language: Chinese if the text has Chinese in it; the
// configured default for a slash command or text with no words; English otherwise.
func language(text string, def Lang) Lang {
	if def != EN {
		def = ZH
	}
	letters := false
	for _, c := range text {
		if unicode.Is(unicode.Han, c) {
			return ZH
		}
		letters = letters || unicode.IsLetter(c)
	}
	if strings.HasPrefix(text, "/") || !letters {
		return def
	}
	return EN
}

// matchShape finds the one ArgNone command the text asks for: the text holds one of
// its phrases, as whole words in English or as a run of characters in Chinese, and
// every other word is a filler. Text that fits two commands fits none.
func (r *Registry) matchShape(text string) (int, bool) {
	if len(text) > maxShapeLen {
		return 0, false
	}
	found := -1
	if hasHan(text) {
		t := compact(text)
		for _, s := range r.shapes {
			if s.han == "" || s.spec == found {
				continue
			}
			if i := strings.Index(t, s.han); i >= 0 && r.zhFiller(t[:i]) && r.zhFiller(t[i+len(s.han):]) {
				if found >= 0 {
					return 0, false
				}
				found = s.spec
			}
		}
	} else {
		ws := words(text)
		for _, s := range r.shapes {
			if s.words == nil || s.spec == found {
				continue
			}
			if i := indexWords(ws, s.words); i >= 0 && r.enFiller(ws[:i]) && r.enFiller(ws[i+len(s.words):]) {
				if found >= 0 {
					return 0, false
				}
				found = s.spec
			}
		}
	}
	return found, found >= 0
}

// indexWords is where the word sequence sub first occurs in ws, or -1.
func indexWords(ws, sub []string) int {
	for i := 0; i+len(sub) <= len(ws); i++ {
		match := true
		for j, w := range sub {
			if ws[i+j] != w {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

func (r *Registry) enFiller(ws []string) bool {
	for _, w := range ws {
		if !r.enFill[w] {
			return false
		}
	}
	return true
}

// zhFiller reports whether s splits wholly into Chinese fillers. Fillers overlap
// ("人", "人员"), so it tries every split, from the end backwards.
func (r *Registry) zhFiller(s string) bool {
	rs := []rune(s)
	ok := make([]bool, len(rs)+1)
	ok[len(rs)] = true
	for i := len(rs) - 1; i >= 0; i-- {
		for n := 1; n <= r.zhFillMax && i+n <= len(rs) && !ok[i]; n++ {
			ok[i] = ok[i+n] && r.zhFill[string(rs[i:i+n])]
		}
	}
	return ok[0]
}

// matchPrefix finds a command that takes arguments: the text is one of its phrases,
// followed by arguments of the kind it takes. A Chinese phrase may be followed by
// its argument with no space ("卡号123456").
func (r *Registry) matchPrefix(text string, mentioned bool) (int, []string, bool) {
	for _, p := range r.prefixes {
		rest, ok := strings.CutPrefix(text, p.phrase)
		if !ok || (rest != "" && !p.han && rest[0] != ' ') {
			continue
		}
		args := fields(strings.TrimLeft(rest, " :"))
		if r.argsFit(r.specs[p.spec].Arg, args, mentioned) {
			return p.spec, args, true
		}
	}
	return 0, nil, false
}

func (r *Registry) argsFit(kind ArgKind, args []string, mentioned bool) bool {
	switch kind {
	case ArgPerson:
		return mentioned && len(args) == 0
	case ArgNumber:
		return len(args) == 1 && isNumber(args[0])
	case ArgClock:
		return len(args) == 0 || (len(args) == 1 && isClock(args[0]))
	case ArgDate:
		return len(args) == 0 || (len(args) == 1 && isDateShape(args[0]))
	case ArgCommand:
		if len(args) == 0 {
			return false
		}
		target := strings.Join(args, " ")
		if _, ok := r.byName[strings.TrimPrefix(target, "/")]; ok {
			return true
		}
		_, ok := r.matchShape(target)
		return ok
	default:
		return len(args) == 0
	}
}

// isDateShape is a word made of digits and dashes, the shape of "2026-11-25".
func isDateShape(s string) bool {
	if len(s) > len("2006-01-02")+2 || !strings.Contains(s, "-") {
		return false
	}
	return strings.Trim(s, "0123456789-") == ""
}

// isNumber is a card number: decimal digits, short enough for an int.
func isNumber(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseClock reads a time of day on a 24-hour clock, "9:30" or "09:30", and returns
// it as the store keeps it, "09:30".
func ParseClock(s string) (string, bool) {
	t, err := time.Parse("15:04", s) // "15" also takes a one-digit hour
	if err != nil {
		return "", false
	}
	return t.Format("15:04"), true
}

func isClock(s string) bool {
	_, ok := ParseClock(s)
	return ok
}

// suggestSlash is the slash form an unknown slash name is a typo of ("/nofce"), or
// the command whose phrase it is ("/统计").
func (r *Registry) suggestSlash(name string) string {
	if name == "" || utf8.RuneCountInString(name) > maxSuggestLen {
		return ""
	}
	if i, ok := r.matchShape(name); ok {
		return r.specs[i].Slash()
	}
	best, bestDist := "", maxSuggestLen
	n := utf8.RuneCountInString(name)
	for _, s := range r.specs {
		limit := 1
		if max(n, len(s.Name)) > 5 {
			limit = 2
		}
		if d := distance(name, s.Name, limit); d <= limit && d < bestDist {
			best, bestDist = s.Slash(), d
		}
	}
	return best
}

// suggestPhrase is the slash form plain text is close to: a command's phrase with
// its argument missing ("卡号"), or one word that is a command name or one typo from
// it ("nocards", "push"). Sentences get no suggestion, so "hello" and "今天天气怎么样"
// are left alone.
func (r *Registry) suggestPhrase(text string) string {
	for _, p := range r.prefixes {
		if text == p.phrase {
			return r.specs[p.spec].Slash()
		}
	}
	n := utf8.RuneCountInString(text)
	if n < 4 || n > maxSuggestLen {
		return ""
	}
	for i := 0; i < len(text); i++ {
		if text[i] < 'a' || text[i] > 'z' {
			return ""
		}
	}
	best, bestDist := "", 2
	for _, s := range r.specs {
		if d := distance(text, s.Name, 1); d < bestDist {
			best, bestDist = s.Slash(), d
		}
	}
	return best
}

// distance is the edit distance between a and b, counting a swap of two neighbours
// as one edit ("hepl" is one from "help"). Past limit it stops counting and returns
// limit+1, so a long word costs little.
func distance(a, b string, limit int) int {
	x, y := []rune(a), []rune(b)
	if d := len(x) - len(y); d > limit || -d > limit {
		return limit + 1
	}
	// Three rows of the optimal-string-alignment table.
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(y)], limit+1)
}

// compact drops spaces and punctuation: Chinese needs neither to separate words, and
// people type "谁 没有 人脸" as often as "谁没有人脸".
func compact(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.IsSpace(c) || unicode.IsPunct(c) || unicode.IsSymbol(c) {
			return -1
		}
		return c
	}, s)
}

func hasHan(s string) bool {
	for _, c := range s {
		if unicode.Is(unicode.Han, c) {
			return true
		}
	}
	return false
}

func isWordRune(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
