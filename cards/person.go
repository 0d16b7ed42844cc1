package cards

import (
	"fmt"

	"acsbot/acs"
	"acsbot/command"
)

type personText struct {
	title, face, card  string
	tagFace, tagNoFace string
	notFound           func(id string) string
}

func personStrings(lang command.Lang) personText {
	return pick(lang, personText{
		title:     "人员查询",
		face:      "人脸",
		card:      "门禁卡",
		tagFace:   "已录入人脸",
		tagNoFace: "未录入人脸",
		notFound: func(id string) string {
			return fmt.Sprintf("“%s” 不在任何门禁权限组中，所以门禁系统里没有此人的人脸或门禁卡。如需开通，请联系门禁管理员。", id)
		},
	}, personText{
		title:     "Person lookup",
		face:      "Face photo",
		card:      "Access card",
		tagFace:   "face photo ✓",
		tagNoFace: "no face photo",
		notFound: func(id string) string {
			return fmt.Sprintf("“%s” is not in any access permission group, so access control has no face photo or card for them. An ACS admin can add them to a group.", id)
		},
	})
}

// Person answers /user: the person, whether their face photo is uploaded, and
// their card (masked per the view). id is what was asked for; when it is not in
// the directory the card says so, repeating id safely, since a user typed it.
func Person(v View, id string, u acs.User, found bool) Card {
	t := personStrings(v.Lang)
	if !found {
		c := newCard(t.title, "grey", t.title, md(t.notFound(echo(id))))
		c.Body.Elements = append(c.Body.Elements, v.footer(false)...)
		return c
	}
	vt := viewStrings(v.Lang)
	template, tag, face := "green", textTag(t.tagFace, "green"), vt.faceYes
	if !u.FaceUploaded {
		template, tag, face = "orange", textTag(t.tagNoFace, "red"), vt.faceNo
	}
	if !u.HasCard() {
		template = "orange"
	}
	c := newCard(t.title, template, t.title,
		UserProfile{Tag: "person", UserID: u.ID, Size: "medium", ShowAvatar: true, ShowName: true},
		// A masked number is made of asterisks, which markdown would read as emphasis.
		md(fmt.Sprintf("**%s**: %s"+br+"**%s**: %s", t.face, face, t.card, EscapeMarkdown(v.cardText(u.Card)))),
	)
	c.Header.TextTagList = []TextTag{tag}
	c.Body.Elements = append(c.Body.Elements, v.footer(!v.ShowCardNumbers && u.HasCard())...)
	return c
}

type lookupText struct {
	title string
	none  func(card string) string
	one   func(card string) string
	many  func(n, card string) string
	more  func(n string) string
}

func lookupStrings(lang command.Lang) lookupText {
	return pick(lang, lookupText{
		title: "卡号查询",
		none:  func(card string) string { return fmt.Sprintf("没有人持有卡号 %s。", card) },
		one:   func(card string) string { return fmt.Sprintf("卡号 %s 属于：", card) },
		many: func(n, card string) string {
			return fmt.Sprintf("⚠️ %s 人共用卡号 %s。一张门禁卡应只属于一个人，请核对。", n, card)
		},
		more: func(n string) string { return fmt.Sprintf("另有 %s 人未显示。", n) },
	}, lookupText{
		title: "Card lookup",
		none:  func(card string) string { return fmt.Sprintf("Nobody holds card %s.", card) },
		one:   func(card string) string { return fmt.Sprintf("Card %s belongs to:", card) },
		many: func(n, card string) string {
			return fmt.Sprintf("⚠️ %s people share card %s. An access card should belong to one person; please check.", n, card)
		},
		more: func(n string) string { return fmt.Sprintf("%s more not shown.", n) },
	})
}

// CardLookup answers /card: who holds card number, given everyone who does. More
// than one holder is a data error worth flagging.
func CardLookup(v View, number int, users []acs.User) Card {
	t := lookupStrings(v.Lang)
	shown := v.cardText(number)
	card := EscapeMarkdown(shown)
	var c Card
	switch len(users) {
	case 0:
		c = newCard(t.title, "grey", t.title+" · "+shown, md(t.none(card)))
	case 1:
		c = newCard(t.title, "blue", t.title+" · "+shown, md(t.one(card)), userTable(v, users))
	default:
		c = newCard(t.title, "red", t.title+" · "+shown, md(t.many(count(len(users)), card)), userTable(v, users[:min(len(users), PageSize)]))
		if len(users) > PageSize {
			c.Body.Elements = append(c.Body.Elements, md(t.more(count(len(users)-PageSize))))
		}
	}
	sub := plain(shown)
	c.Header.Subtitle = &sub
	c.Body.Elements = append(c.Body.Elements, v.footer(!v.ShowCardNumbers)...)
	return c
}

// WithoutPeople is c with each person component replaced by the id it named and a
// note that the company directory does not know them. Feishu refuses a whole card
// whose person component names someone it cannot show (an ACS entry of someone
// who left, an id of another kind), and an admin wants to know: that person may
// still open doors.
func (c Card) WithoutPeople(lang command.Lang) Card {
	c.Body.Elements = withoutPeople(lang, c.Body.Elements)
	return c
}

func withoutPeople(lang command.Lang, els []Element) []Element {
	out := make([]Element, len(els))
	for i, e := range els {
		switch x := e.(type) {
		case UserProfile:
			out[i] = md(notInDirectory(lang, x.UserID))
		case PersonList:
			x.DropInvalidUserID = true
			out[i] = x
		case ColumnSet:
			cols := make([]Column, len(x.Columns))
			for j, col := range x.Columns {
				col.Elements = withoutPeople(lang, col.Elements)
				cols[j] = col
			}
			x.Columns = cols
			out[i] = x
		default:
			out[i] = e
		}
	}
	return out
}

func notInDirectory(lang command.Lang, id string) string {
	return pick(lang,
		fmt.Sprintf("⚠️ %s 不在公司通讯录中：此人可能已离职，却仍在门禁名单里，可能还能开门。", echo(id)),
		fmt.Sprintf("⚠️ %s is not in the company directory: they may have left the company, yet they are still on the access control list and may still open doors.", echo(id)))
}
