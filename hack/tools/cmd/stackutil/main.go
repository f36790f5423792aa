// Command stackutil holds the small helpers hack/local-cluster.sh needs and
// that a stock Linux box lacks:
//
//	stackutil htpasswd USER PASS [COST]
//	                               print a bcrypt htpasswd line (distribution's
//	                               htpasswd auth accepts bcrypt only; COST
//	                               defaults to bcrypt's 10)
//	stackutil freeport N           print N distinct free TCP ports on 127.0.0.1
//	stackutil tokenserver …        the token service of the token-auth registry
//	                               (tokenserver.go)
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stackutil:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: stackutil htpasswd USER PASS | freeport N")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "htpasswd":
		if len(rest) < 2 || len(rest) > 3 || rest[0] == "" {
			return fmt.Errorf("usage: stackutil htpasswd USER PASS [COST]")
		}
		cost := bcrypt.DefaultCost
		if len(rest) == 3 {
			var err error
			if cost, err = strconv.Atoi(rest[2]); err != nil || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
				return fmt.Errorf("htpasswd: COST must be %d to %d, got %q", bcrypt.MinCost, bcrypt.MaxCost, rest[2])
			}
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(rest[1]), cost)
		if err != nil {
			return fmt.Errorf("hashing password: %w", err)
		}
		fmt.Printf("%s:%s\n", rest[0], hash)
	case "freeport":
		if len(rest) != 1 {
			return fmt.Errorf("usage: stackutil freeport N")
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 1 {
			return fmt.Errorf("freeport: N must be a positive integer, got %q", rest[0])
		}
		return freePorts(n)
	case "tokenserver":
		return runTokenServer(rest)
	default:
		return fmt.Errorf("unknown subcommand %q", cmd)
	}
	return nil
}

// freePorts holds all N listeners open until every port is known, so the
// ports are distinct from each other; the caller still races other programs
// between our close and its bind, which is why daemons' failures are checked.
func freePorts(n int) error {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listening on 127.0.0.1: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, p := range ports {
		fmt.Println(p)
	}
	return nil
}
