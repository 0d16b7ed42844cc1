package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"acsbot/acs"
	"acsbot/feishufake"
)

// directorySize is how many people the demo tenant has in access control.
const directorySize = 2000

// directorySeed makes every demo start with the same people.
const directorySeed = 20261201

// exampleUser is the user of Feishu's ACS API documentation examples
// (user_id "ou_7dab8a3d3cdcc9da365777c7ad535d62", card 123456), so the documented
// requests work as written against the demo.
var exampleUser = acs.User{ID: "ou_7dab8a3d3cdcc9da365777c7ad535d62", Card: 123456, FaceUploaded: true}

// A persona is someone the console lets you be.
type persona struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	OpenID string `json:"open_id"`
	Role   string `json:"role"` // what the bot lets them do, as the console explains it
}

// The demo's personas. The admin is in access.admins, the reader in the
// facility team group listed under access.chats, the outsider in neither.
var personas = []persona{
	{Key: "admin", Name: "Chen Jing", OpenID: "ou_de70000000000000000000000000a001", Role: "ACS admin: may run every command, sees card numbers in a direct chat"},
	{Key: "reader", Name: "Li Ming", OpenID: "ou_de70000000000000000000000000b002", Role: "facility staff: may ask the read-only questions in the Facility team group"},
	{Key: "outsider", Name: "Zhao Lei", OpenID: "ou_de70000000000000000000000000c003", Role: "anyone else: gets a polite refusal and nothing from the directory"},
}

func personaByKey(key string) (persona, bool) {
	i := slices.IndexFunc(personas, func(p persona) bool { return p.Key == key })
	if i < 0 {
		return persona{}, false
	}
	return personas[i], true
}

// Generated names: every surname with every given name, shuffled by the seed,
// gives 2,880 distinct names, enough for everyone without repeats, so an
// @-mention typed by name is never ambiguous.
var (
	surnames = strings.Fields(`Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao
		Lin Luo Zheng Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Yuan Pan Jiang Cai Yu
		Du Ye Cheng Wei Su Lu Ding Ren Shen`)
	givenNames = strings.Fields(`Wei Fang Na Min Jing Li Qiang Lei Jun Yang Yong Yan Jie Juan Tao Ming Chao
		Xiu Xia Ping Gang Gui Hui Hua Bin Hong Ling Kai Peng Bo Xin Yu Hao Rui Lan Ning Qing Shan Tian Wen
		Xuan Yi Ying Zhen Zhi Kun Long Mei Nan Qi Rong Shu Ting Xiang Yan Yun Zhe Ze Ke Lu`)
)

// people is the demo's directory: who is in access control and what they are called.
type people struct {
	users []acs.User
	names map[string]string // open id -> display name
	ids   map[string]string // display name -> open id, for @-mentions typed by name
}

// newPeople builds the seeded directory: the personas and the documented example
// user first, then generated people up to directorySize.
func newPeople() *people {
	p := &people{names: map[string]string{}, ids: map[string]string{}}
	add := func(u acs.User, name string) {
		p.users = append(p.users, u)
		p.names[u.ID] = name
		p.ids[name] = u.ID
	}
	for _, ps := range personas {
		add(acs.User{ID: ps.OpenID, Card: personaCard(ps), FaceUploaded: ps.Key != "outsider"}, ps.Name)
	}
	add(exampleUser, "Sample User")
	names := shuffledNames()
	for _, u := range feishufake.GenerateUsers(directorySize, directorySeed) {
		if len(p.users) == directorySize {
			break
		}
		if u.Card == exampleUser.Card { // keep /card 123456 pointing at one person
			continue
		}
		for p.ids[names[0]] != "" { // a persona's name
			names = names[1:]
		}
		add(u, names[0])
		names = names[1:]
	}
	return p
}

// personaCard gives the personas card numbers of their own, outside the
// generated 6-to-8-digit range.
func personaCard(ps persona) int {
	return 900000000 + int(ps.OpenID[len(ps.OpenID)-1]-'0')
}

func shuffledNames() []string {
	names := make([]string, 0, len(surnames)*len(givenNames))
	for _, s := range surnames {
		for _, g := range givenNames {
			names = append(names, s+" "+g)
		}
	}
	r := rand.New(rand.NewPCG(directorySeed, 1))
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}

// Name is a person's display name, "" for an id the demo does not know.
func (p *people) Name(openID string) string { return p.names[openID] }

// mentions turns "@Name" in typed text into Feishu's placeholders and mentions,
// as a Feishu client does when you pick someone after typing "@". A name that
// matches nobody stays as typed.
func (p *people) mentions(text string) (string, []feishufake.Mention) {
	var b strings.Builder
	var ms []feishufake.Mention
	for {
		i := strings.IndexByte(text, '@')
		if i < 0 {
			b.WriteString(text)
			return b.String(), ms
		}
		b.WriteString(text[:i])
		rest := text[i+1:]
		name, id := p.nameAt(rest)
		if id == "" {
			b.WriteByte('@')
			text = rest
			continue
		}
		key := fmt.Sprintf("@_user_%d", len(ms)+1)
		ms = append(ms, feishufake.Mention{Key: key, OpenID: id, Name: name})
		b.WriteString(key)
		text = rest[len(name):]
	}
}

// nameAt finds the known name that s starts with, two words before one.
func (p *people) nameAt(s string) (name, id string) {
	words := strings.Fields(s)
	for n := min(2, len(words)); n > 0; n-- {
		cand := strings.Join(words[:n], " ")
		if id, ok := p.ids[cand]; ok && strings.HasPrefix(s, cand) {
			return cand, id
		}
	}
	return "", ""
}
