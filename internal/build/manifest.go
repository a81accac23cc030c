package build

import (
	"fmt"
	"strings"
)

// manifest renders oryx-manifest.toml (docs/appservice.md §3 "Manifest"): one
// Key="value" line per key, the keys Oryx writes for Python, plus Slipway's
// own. CompressDestinationDir is "false" because Slipway keeps the artifact
// extracted; SourceDirectoryInBuildContainer is the artifact directory, which
// is also the app path at run time.
func manifest(res Result, opID, appDir, key string) string {
	lines := [][2]string{
		{"PythonVersion", res.PythonVersion},
		{"virtualEnvName", venvName},
		{"OperationId", opID},
		{"SourceDirectoryInBuildContainer", appDir},
		{"PlatformName", "python"},
		{"CompressDestinationDir", "false"},
		{"SlipwayVirtualEnvDir", res.VenvDir},
		{"SlipwayEnvironmentKey", key},
		{"SlipwayDjango", fmt.Sprint(res.Django)},
		{"SlipwayCollectstatic", fmt.Sprint(res.Collectstatic)},
	}
	var sb strings.Builder
	for _, kv := range lines {
		fmt.Fprintf(&sb, "%s=\"%s\"\n", kv[0], tomlEscape(kv[1]))
	}
	return sb.String()
}

// tomlEscape escapes s for a TOML basic string.
func tomlEscape(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, "\\u%04X", r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
