package synth

import "strconv"

// Word lists for synthetic names. Any likeness to a real place or person is
// a coincidence of common words.
var (
	nameWords = []string{
		"Maple", "Cedar", "Oak", "Elm", "Willow", "Birch", "Chestnut", "Hillcrest",
		"Riverside", "Lakeview", "Fairview", "Glenwood", "Parkside", "Westgate",
		"Northfield", "Southgate", "Eastwood", "Brookside", "Meadow", "Highland",
		"Summit", "Harbor", "Union", "Liberty", "Spring", "Mill", "Bridge",
		"Market", "Pine", "Walnut", "Laurel", "Aspen", "Juniper", "Magnolia",
		"Sycamore", "Hawthorn", "Orchard", "Ridge", "Valley", "Crescent",
	}
	worshipKinds = []string{
		"Baptist Church", "Methodist Church", "Catholic Church", "Presbyterian Church",
		"Synagogue", "Islamic Center", "Masjid", "AME Church", "Lutheran Church",
		"Gurdwara", "Hindu Temple", "Buddhist Temple", "Community Church",
		"Episcopal Church", "Kingdom Hall", "Orthodox Church",
	}
	clinicKinds = []string{
		"Family Clinic", "Health Center", "Urgent Care", "Pediatrics",
		"Women's Health Clinic", "Dialysis Center", "Community Health Center",
		"Behavioral Health Clinic", "Medical Associates",
	}
	hospitalKinds = []string{"General Hospital", "Memorial Hospital", "Medical Center"}
	schoolKinds   = []string{"Elementary School", "Middle School", "High School", "Academy", "Montessori School", "Charter School"}
	shelterKinds  = []string{"Family Shelter", "Women's Shelter", "Emergency Shelter", "Youth Shelter", "Recovery House"}
	courtKinds    = []string{"District Courthouse", "Superior Court", "Family Court", "Immigration Court", "Traffic Court"}
	firstNames    = []string{
		"Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
		"Maria", "James", "Aisha", "Wei", "Priya", "Carlos", "Fatima", "Daniel",
		"Grace", "Samuel", "Nadia", "Kevin", "Elena", "Marcus", "Hannah", "Omar",
		"Linh", "Robert", "Sofia", "Andre", "Keisha", "Thomas", "Mei", "David",
	}
	lastNames = []string{
		"Rivera", "Chen", "Okafor", "Nguyen", "Patel", "Johnson", "Williams", "Garcia",
		"Kim", "Brown", "Hassan", "Lopez", "Miller", "Davis", "Singh", "Martinez",
		"Wilson", "Anderson", "Thomas", "Moore", "Jackson", "Lee", "Harris", "Clark",
		"Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
	}
)

// namer hands out distinct names.
type namer struct{ used map[string]bool }

func (n *namer) name(r *rng, first, second []string) string {
	if n.used == nil {
		n.used = map[string]bool{}
	}
	var s string
	for try := 0; ; try++ {
		s = first[r.intn(len(first))] + " " + second[r.intn(len(second))]
		if !n.used[s] {
			break
		}
		if try >= 8 {
			base := s
			for k := 2; n.used[s]; k++ {
				s = base + " " + strconv.Itoa(k)
			}
			break
		}
	}
	n.used[s] = true
	return s
}
