package pages

import "strings"

// maxUserAgent bounds the part of a User-Agent header Device looks at.
const maxUserAgent = 512

// Device names the browser and operating system of a User-Agent header in
// a few words, such as "Chrome on Linux" or "Safari on iPhone", for the
// session list. It only looks for a few well-known tokens in the first
// maxUserAgent bytes, so its cost is bounded whatever the header holds;
// unknown agents are named by their first product token, or "Unknown
// device".
func Device(ua string) string {
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown device"
	}
	b, os := browser(ua), system(ua)
	switch {
	case b != "" && os != "":
		return b + " on " + os
	case b != "":
		return b
	case os != "":
		return "Browser on " + os
	}
	return product(ua)
}

// browser checks tokens in order: Edge, Opera, Samsung and Chrome on iOS
// all claim to be Chrome and Safari as well, so they come first.
func browser(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("HeadlessChrome/"):
		return "Headless Chrome"
	case has("Edg/"), has("EdgA/"), has("EdgiOS/"), has("Edge/"):
		return "Edge"
	case has("OPR/"), has("Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Firefox/"), has("FxiOS/"):
		return "Firefox"
	case has("CriOS/"), has("Chrome/"):
		return "Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Safari/") && has("Version/"), has("Mobile/") && has("AppleWebKit/"):
		return "Safari"
	case has("curl/"):
		return "curl"
	case has("Wget/"):
		return "Wget"
	case has("Go-http-client/"):
		return "Go HTTP client"
	case has("python-requests/"), has("python-httpx/"), has("Python-urllib/"):
		return "Python script"
	case has("okhttp/"):
		return "OkHttp"
	}
	return ""
}

func system(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("iPhone"):
		return "iPhone"
	case has("iPad"):
		return "iPad"
	case has("Android"):
		return "Android"
	case has("CrOS"):
		return "ChromeOS"
	case has("Windows"):
		return "Windows"
	case has("Macintosh"), has("Mac OS X"):
		return "macOS"
	case has("Linux"), has("X11"):
		return "Linux"
	}
	return ""
}

// product is the name of the first product token ("MyApp/1.2" is "MyApp"),
// cut to a readable length and stripped of anything but plain characters.
func product(ua string) string {
	name, _, _ := strings.Cut(ua, "/")
	name, _, _ = strings.Cut(name, " ")
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= 32 {
			break
		}
		if r == '-' || r == '_' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "Unknown device"
	}
	return b.String()
}
