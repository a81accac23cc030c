package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// caCommands are Slipway's own (az has none): the platform root that every
// HTTPS endpoint's certificate chains to, for clients to trust.
func caCommands() []command {
	return []command{
		{path: "ca show", short: "Print the platform's root certificate (PEM) that every HTTPS endpoint chains to.", run: caShow},
		{path: "ca export", short: "Write the platform's root certificate (PEM) to a file, e.g. for curl --cacert or REQUESTS_CA_BUNDLE.", run: caExport, flags: []flagDef{
			{Names: []string{"--file", "-f"}, Required: true, Help: "Where to write the certificate."},
		}},
		{path: "ca install", short: "Trust the platform's root on this machine (Debian/Ubuntu's /usr/local/share/ca-certificates and update-ca-certificates; needs root).", run: caInstall},
	}
}

// rootPEM reads the root certificate of the server on this machine.
func (inv *invocation) rootPEM() ([]byte, string, error) {
	b, err := os.ReadFile(filepath.Join(inv.dataDir(), "server.json"))
	if err != nil {
		return nil, "", exitErrorf("Start the server (slipway server), or point --data / SLIPWAY_DATA at its data directory.", "No Slipway server found on this machine: %v", err)
	}
	var info struct {
		Domain string `json:"domain"`
		CAFile string `json:"caFile"`
	}
	if err := json.Unmarshal(b, &info); err != nil || info.CAFile == "" {
		return nil, "", exitErrorf("Restart the server with this version of Slipway.", "The server's server.json names no certificate authority.")
	}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil {
		return nil, "", exitErrorf("", "Reading the platform's root certificate: %v", err)
	}
	return pem, info.Domain, nil
}

func caShow(ctx context.Context, inv *invocation) error {
	pem, _, err := inv.rootPEM()
	if err != nil {
		return err
	}
	_, err = inv.stdout.Write(pem)
	return err
}

func caExport(ctx context.Context, inv *invocation) error {
	pem, _, err := inv.rootPEM()
	if err != nil {
		return err
	}
	path, err := inv.packagePath(inv.flags.str("file"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		return exitErrorf("", "Writing %s: %v", path, err)
	}
	inv.progressf("Wrote the platform's root certificate to %s.", path)
	return nil
}

func caInstall(ctx context.Context, inv *invocation) error {
	pem, domain, err := inv.rootPEM()
	if err != nil {
		return err
	}
	dir := "/usr/local/share/ca-certificates"
	if _, err := exec.LookPath("update-ca-certificates"); err != nil {
		return exitErrorf("Use `slipway ca export -f slipway.pem` and add the file to your system's trust store by hand.", "update-ca-certificates was not found (apt-get install ca-certificates).")
	}
	name := "slipway-" + strings.NewReplacer("/", "-", ".", "-").Replace(domain) + ".crt"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitErrorf("Run it as root.", "Creating %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), pem, 0o644); err != nil {
		return exitErrorf("Run it as root.", "Writing %s: %v", filepath.Join(dir, name), err)
	}
	out, err := exec.CommandContext(ctx, "update-ca-certificates").CombinedOutput()
	if err != nil {
		return exitErrorf("", "update-ca-certificates: %v: %s", err, strings.TrimSpace(string(out)))
	}
	inv.progressf("The platform's root is trusted on this machine (%s). Browsers with their own store (Firefox) need it imported there.", filepath.Join(dir, name))
	fmt.Fprintln(inv.stdout, filepath.Join(dir, name))
	return nil
}
