package files

import (
	"testing"
	"testing/fstest"
)

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{
		"a.hcl": true, "x.vars.hcl": true, ".a.hcl": false, "a.hcl~": false, "#a.hcl#": false,
		"#a.hcl": false, ".#a.hcl": false, ".a.hcl.swp": false, "a.hcl.swp": false, "a.txt": false,
		"..data": false, "a.hcl.dpkg-old": false,
	} {
		if Is(name) != want {
			t.Errorf("Is(%q) = %v, want %v", name, !want, want)
		}
	}
}

func TestBlank(t *testing.T) {
	for src, want := range map[string]bool{"": true, " \n\t\r\n": true, "# c\n": false, "x {}": false} {
		if Blank([]byte(src)) != want {
			t.Errorf("Blank(%q) = %v, want %v", src, !want, want)
		}
	}
}

func TestList(t *testing.T) {
	fsys := fstest.MapFS{
		"b.hcl":      {Data: []byte("x")},
		"a.hcl":      {Data: []byte("x")},
		".a.hcl":     {Data: []byte("x")},
		"dir.hcl/f":  {Data: []byte("x")},
		"notes.txt":  {Data: []byte("x")},
		"v.vars.hcl": {Data: []byte("x")},
	}
	names, unusable, err := List(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(names); got != 3 || names[0] != "a.hcl" || names[1] != "b.hcl" || names[2] != "v.vars.hcl" {
		t.Errorf("names = %v, want [a.hcl b.hcl v.vars.hcl]", names)
	}
	if len(unusable) != 1 || unusable[0].Error() != "read dir.hcl: is a directory, not a file" {
		t.Errorf("unusable = %v, want dir.hcl as a directory", unusable)
	}
	if _, err := ListErr(fsys); err == nil {
		t.Error("ListErr ignored the directory named dir.hcl")
	}
}
