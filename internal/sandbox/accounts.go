package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// userPrefix begins every app's system user and group name (UserName).
const userPrefix = "sw-"

// accountFiles writes the sandbox's /etc/passwd and /etc/group for a process
// running as uid and gid: the host's, less every other app's user, group and
// group membership. Every app's user is named after its app, so the host's
// files would list the other tenants of the machine; the process's own user
// and group stay, so that id, whoami and getpass.getuser() answer as on App
// Service. A missing host file gives an empty one.
func (s *Sandbox) accountFiles(uid, gid int) (passwd, group string, err error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(hostEtc, name))
		if os.IsNotExist(err) {
			return nil, nil
		}
		return b, err
	}
	pw, err := read("passwd")
	if err != nil {
		return "", "", fmt.Errorf("reading the host's users: %w", err)
	}
	gr, err := read("group")
	if err != nil {
		return "", "", fmt.Errorf("reading the host's groups: %w", err)
	}
	if uid == 0 {
		uid = -1 // root keeps no app's entries
	}
	if gid == 0 {
		gid = -1
	}
	pw, self := filterAccounts(pw, uid, "")
	gr, _ = filterAccounts(gr, gid, self)
	if passwd, err = s.stateFile("passwd", pw); err != nil {
		return "", "", err
	}
	if group, err = s.stateFile("group", gr); err != nil {
		return "", "", err
	}
	return passwd, group, nil
}

// filterAccounts drops from a passwd or group file (name:x:id:...) the
// entries of app users (names with userPrefix) whose id is not keepID, and,
// in a group's member list (the fourth field), app users other than member.
// It returns the kept app entry's name too. Lines it cannot parse are kept
// as they are: they name no app.
func filterAccounts(content []byte, keepID int, member string) (out []byte, kept string) {
	var b bytes.Buffer
	for line := range bytes.Lines(content) {
		f := strings.Split(strings.TrimRight(string(line), "\n"), ":")
		if len(f) < 3 {
			b.Write(line)
			continue
		}
		if strings.HasPrefix(f[0], userPrefix) {
			if id, err := strconv.Atoi(f[2]); err != nil || id != keepID {
				continue
			}
			kept = f[0]
		}
		if len(f) == 4 && f[3] != "" {
			members := strings.Split(f[3], ",")
			keep := members[:0]
			for _, m := range members {
				if !strings.HasPrefix(m, userPrefix) || (member != "" && m == member) {
					keep = append(keep, m)
				}
			}
			f[3] = strings.Join(keep, ",")
			b.WriteString(strings.Join(f, ":"))
			b.WriteByte('\n')
			continue
		}
		b.Write(line)
	}
	return b.Bytes(), kept
}
