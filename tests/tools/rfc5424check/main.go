// rfc5424check: read syslog frames on stdin (argument "octet-counting" or
// "lf") with go-syslog's strict RFC 5424 parsers and print one JSON object
// per message: {"ok":true,"pri":..,"hostname":..,"appname":..,"procid":..,
// "msgid":..,"timestamp":..,"sd":{id:{name:value}},"msg":..} or
// {"ok":false,"error":".."}. Exits 1 if any message was rejected.
//
// The frames are split here and each message goes to go-syslog's strict
// rfc5424 machine: its octetcounting transport parser cannot take a frame
// longer than its 8 KiB buffer (Peek), and ours may be up to 64 KiB.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	syslog "github.com/influxdata/go-syslog"
	"github.com/influxdata/go-syslog/rfc5424"
)

// frames splits octet-counted (RFC 6587 3.4.1) or LF-terminated input.
func frames(in []byte, lf bool) ([][]byte, error) {
	var out [][]byte
	for len(in) > 0 {
		if lf {
			i := bytes.IndexByte(in, '\n')
			if i < 0 {
				return nil, fmt.Errorf("frame without LF")
			}
			out = append(out, in[:i])
			in = in[i+1:]
			continue
		}
		sp := bytes.IndexByte(in, ' ')
		if sp <= 0 || in[0] == '0' {
			return nil, fmt.Errorf("bad MSG-LEN")
		}
		n, err := strconv.Atoi(string(in[:sp]))
		if err != nil || n <= 0 || sp+1+n > len(in) {
			return nil, fmt.Errorf("bad MSG-LEN %q", in[:sp])
		}
		out = append(out, in[sp+1:sp+1+n])
		in = in[sp+1+n:]
	}
	return out, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rfc5424check octet-counting|lf")
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	bad := 0
	emit := func(r *syslog.Result) {
		if r.Error != nil || r.Message == nil {
			bad++
			enc.Encode(map[string]interface{}{"ok": false, "error": fmt.Sprint(r.Error)})
			return
		}
		m := r.Message
		o := map[string]interface{}{"ok": true, "pri": *m.Priority(),
			"hostname": str(m.Hostname()), "appname": str(m.Appname()),
			"procid": str(m.ProcID()), "msgid": str(m.MsgID()),
			"msg": str(m.Message())}
		if t := m.Timestamp(); t != nil {
			o["timestamp"] = t.UTC().Format(time.RFC3339Nano)
		}
		if sd := m.StructuredData(); sd != nil {
			o["sd"] = *sd
		}
		enc.Encode(o)
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fs, err := frames(in, os.Args[1] == "lf")
	if err != nil {
		fmt.Fprintln(os.Stderr, "framing:", err)
		os.Exit(1)
	}
	p := rfc5424.NewParser()
	for _, f := range fs {
		m, err := p.Parse(f)
		emit(&syslog.Result{Message: m, Error: err})
	}
	out.Flush()
	if bad > 0 {
		os.Exit(1)
	}
}
