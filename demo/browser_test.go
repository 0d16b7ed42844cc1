package demo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", "", "write the browser test's final screen to this PNG file (the README's picture)")

// chromium is Debian's Chromium, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a fresh profile and no background
// traffic: this machine has no network, and a test must not try to reach one.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the browser test, but %s is missing: %v", chromium, err)
		}
		t.Skipf("no %s here (apt-get install chromium); CI installs it", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

var countRe = regexp.MustCompile(`^(\d+) people without a face photo$`)

// until waits until the JavaScript expression is truthy.
func until(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[any](expr, chromedp.WithPollingTimeout(30*time.Second))(ctx, t)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", expr, err)
		}
		return nil
	})
}

// waitText waits until the page's text shows s.
func waitText(s string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`document.body.innerText.includes(%q)`, s))
}

// lastCardTitle waits until the chat shows n bot cards and returns the last one's title.
func lastCardTitle(ctx context.Context, n int) (string, error) {
	return chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => {
		const cards = [...document.querySelectorAll(".msg.bot .fc-card")];
		return cards.length >= %d ? cards[cards.length - 1].querySelector(".fc-title").textContent : null;
	})()`, n), chromedp.WithPollingTimeout(30*time.Second)))
}

// ask types a question in the composer and sends it.
func ask(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS("#composer-input"), text),
		chromedp.Click(chromedp.CSS("#send")),
	)
}

// A person uses the console as the README says: asks who has no face photo, pages
// the list, gives someone a face photo in the directory, asks again and sees one
// fewer. Everything goes through the real bot and a real browser.
func TestBrowserAskPageToggleAskAgain(t *testing.T) {
	d := startDemo(t)
	ctx := newBrowser(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.URL()),
		until(`document.querySelectorAll("#persona option").length > 0`), // the console has loaded
		ask("who has no face photo"),
	); err != nil {
		t.Fatalf("ask: %v", err)
	}
	first, err := lastCardTitle(ctx, 1)
	if err != nil {
		t.Fatalf("first answer: %v", err)
	}
	m := countRe.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first answer's title %q is not the no-face list", first)
	}
	before, _ := strconv.Atoi(m[1])

	if err := chromedp.Do(ctx,
		waitText("Page 1 /"),
		chromedp.Click(chromedp.Search(`//div[contains(@class,"msg") and contains(@class,"bot")]//button[contains(., "Next")]`)),
		waitText("Page 2 /"),
		waitText("151–"),
	); err != nil {
		t.Fatalf("page to 2: %v", err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#tab-directory")),
		chromedp.SetValue(chromedp.CSS("#dir-filter"), "noface"),
		until(`document.getElementById("dir-filter").dispatchEvent(new Event("change")) || true`),
		chromedp.WaitVisible(chromedp.CSS("#dir-rows tr.dir-row .toggle-face.no")),
	); err != nil {
		t.Fatalf("open the directory: %v", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#dir-rows tr.dir-row td")))
	if err != nil {
		t.Fatalf("read the directory: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#dir-rows tr.dir-row .toggle-face.no")),
		waitText(who+": face photo uploaded"),
		ask("who has no face photo"),
	); err != nil {
		t.Fatalf("toggle %s's face photo and ask again: %v", who, err)
	}
	second, err := lastCardTitle(ctx, 2)
	if err != nil {
		t.Fatalf("second answer: %v", err)
	}
	if want := fmt.Sprintf("%d people without a face photo", before-1); second != want {
		t.Errorf("after %s got a face photo the answer is %q, want %q", who, second, want)
	}

	if *screenshot == "" {
		return
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#tab-inspector")),
		chromedp.WaitVisible(chromedp.CSS("#inspector li")),
		chromedp.EmulateViewport(1440, 900),
		until(`(document.getElementById("toast").hidden = true, true)`),
		until(`(document.querySelector(".msg.bot:last-of-type").scrollIntoView({block: "start"}), true)`),
		chromedp.Sleep(300*time.Millisecond), // let the scroll settle before the picture
	); err != nil {
		t.Fatalf("before the screenshot: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(*screenshot, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
