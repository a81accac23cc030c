package armtemplate

import "testing"

// TestUniqueString checks values that reimplementations of
// uniqueString report Azure (Bicep) gives for these inputs; Microsoft
// documents no test vectors, so these are second-hand.
func TestUniqueString(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"test"}, "rbgf3xv4ufgzg"},
		{[]string{"hello", "world"}, "a7wkljktk6wne"},
		{[]string{"abc"}, "cgtzqvhu4i23s"},
		{[]string{"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"}, "bmg7c6xu4tw46"},
		{[]string{"foo", "bar", "baz"}, "xzi4ioaxtmth4"},
	} {
		if got := UniqueString(tc.in...); got != tc.want {
			t.Errorf("UniqueString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
