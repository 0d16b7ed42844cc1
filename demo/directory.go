package demo

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"acsbot/acs"
)

// directoryRow is one person in the console's directory editor.
type directoryRow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Face bool   `json:"face"`
	Card int    `json:"card"`
}

// directory lists the fake tenant's access control users, filtered and paged.
func (c *console) directory(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	filter := r.URL.Query().Get("filter")
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	users := c.fake.Users()
	var rows []directoryRow
	noFace, noCard := 0, 0
	for _, u := range users {
		if !u.FaceUploaded {
			noFace++
		}
		if u.Card == 0 {
			noCard++
		}
		row := directoryRow{ID: u.ID, Name: c.people.Name(u.ID), Face: u.FaceUploaded, Card: u.Card}
		if matches(row, q, filter) {
			rows = append(rows, row)
		}
	}
	pages := max(1, (len(rows)+directoryPage-1)/directoryPage)
	page = min(max(page, 1), pages)
	from := (page - 1) * directoryPage
	writeJSON(w, http.StatusOK, map[string]any{
		"total": len(users), "no_face": noFace, "no_card": noCard,
		"matched": len(rows), "page": page, "pages": pages,
		"rows": rows[from:min(from+directoryPage, len(rows))],
	})
}

func matches(row directoryRow, q, filter string) bool {
	switch {
	case filter == "noface" && row.Face, filter == "nocard" && row.Card != 0:
		return false
	case q == "":
		return true
	}
	return strings.Contains(strings.ToLower(row.Name), q) || strings.Contains(row.ID, q) ||
		(row.Card != 0 && strings.Contains(strconv.Itoa(row.Card), q))
}

// toggle flips a person's face photo or card in the fake tenant, as an admin's
// change in the Feishu admin console would, and Feishu's acs.user.updated_v1 event
// tells the bot.
func (c *console) toggle(w http.ResponseWriter, r *http.Request) {
	id, field := r.PathValue("id"), r.PathValue("field")
	users := c.fake.Users()
	i := slices.IndexFunc(users, func(u acs.User) bool { return u.ID == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "no such person in access control")
		return
	}
	u := users[i]
	switch field {
	case "face":
		u.FaceUploaded = !u.FaceUploaded
	case "card":
		if u.Card != 0 {
			u.Card = 0
		} else {
			u.Card = freeCard(users)
		}
	default:
		writeError(w, http.StatusBadRequest, "field must be face or card")
		return
	}
	c.fake.SetUser(u)
	title := fmt.Sprintf("%s: face photo %s, card %s", c.people.Name(u.ID), yesNo(u.FaceUploaded), cardText(u.Card))
	status, err := c.deliver(r.Context(), "/webhook/event", c.fake.UserUpdatedEvent(u), title)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "person": directoryRow{ID: u.ID, Name: c.people.Name(u.ID), Face: u.FaceUploaded, Card: u.Card}})
}

// freeCard is a card number no one holds, for a person given a card in the console.
func freeCard(users []acs.User) int {
	taken := make(map[int]bool, len(users))
	for _, u := range users {
		taken[u.Card] = true
	}
	n := 800000
	for taken[n] {
		n++
	}
	return n
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func cardText(n int) string {
	if n == 0 {
		return "none"
	}
	return strconv.Itoa(n)
}
