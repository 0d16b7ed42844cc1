package feishu

import "errors"

// ScopeMissing reports whether err is Feishu refusing a call because the app has
// not been granted a scope it needs, which only an app admin can fix: the caller
// names the scope and where to grant it, and retrying is pointless.
func ScopeMissing(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && (fe.Code == codeScopeNotGranted || fe.Code == codeTokenLacksScope)
}
