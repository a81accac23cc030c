package startup

// bannerArt is the ASCII art App Service's Python container prints first
// when it starts, as its log stream shows it (docs/appservice.md §4, step 1).
var bannerArt = []string{
	`   _____`,
	`  /  _  \ __________ _________   ____`,
	` /  /_\  \\___   /  |  \_  __ \_/ __ \`,
	`/    |    \/    /|  |  /|  | \/\  ___/`,
	`\____|__  /_____ \____/ |__|    \___  >`,
	`        \/      \/                  \/`,
	`A P P   S E R V I C E   O N   L I N U X`,
}

// Banner returns the lines App Service's Python container prints when an
// instance starts, before it decides how to start the app: the ASCII art,
// the documentation links, the instance's Python version and the note that
// only /home is kept (docs/appservice.md §4, step 1). They belong to the
// app's own output (its docker log), as on App Service.
func Banner(pythonVersion string) []string {
	lines := append([]string(nil), bannerArt...)
	return append(lines,
		"",
		"Documentation    : http://aka.ms/webapp-linux",
		"Python quickstart: https://aka.ms/python-qs",
		"Python version   : "+pythonVersion,
		"",
		"Note: Any data outside '/home' is not persisted",
	)
}
