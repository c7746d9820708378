package filter_test

import (
	"fmt"

	"github.com/scimd/scimd/filter"
)

func ExampleParse() {
	e, err := filter.Parse(`emails[type eq "work"].value Eq "ana@acme.test" and active eq TRUE`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)

	_, err = filter.Parse(`userName eq`)
	fmt.Println(err)
	// Output:
	// (emails[(type eq "work" and value eq "ana@acme.test")] and active eq true)
	// filter: col 12: expected value (string, number, true, false or null) after "eq", found end of input
}

func ExampleParsePath() {
	p, err := filter.ParsePath(`emails[type eq "work"].value`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s | %s | %s\n", p.Attr, p.Filter, p.Sub)
	// Output:
	// emails | type eq "work" | value
}
