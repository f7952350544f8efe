// Check an ontology against the OWL 2 RL and OWL 2 DL profiles with the OWL API bundled in
// HermiT.jar, and print one line per violation: the profile, the kind of violation, the axiom.
// Exit 0 when every profile holds, 1 when one does not, 2 when the file cannot be read.
// Usage: java -cp HermiT.jar:. ProfileCheck FILE.owl

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWL2RLProfile;
import org.semanticweb.owlapi.profiles.OWLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileReport;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public class ProfileCheck {
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: ProfileCheck FILE");
            System.exit(2);
        }
        OWLOntology ontology;
        try {
            OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
            ontology = manager.loadOntologyFromOntologyDocument(new File(args[0]));
        } catch (Exception error) {
            System.err.println("cannot load " + args[0] + ": " + error.getMessage());
            System.exit(2);
            return;
        }
        OWLProfile[] profiles = {new OWL2RLProfile(), new OWL2DLProfile()};
        int violations = 0;
        for (OWLProfile profile : profiles) {
            OWLProfileReport report = profile.checkOntology(ontology);
            List<String> lines = new ArrayList<String>();
            for (OWLProfileViolation violation : report.getViolations()) {
                String text = String.valueOf(violation).replaceAll("\\s+", " ").trim();
                lines.add(profile.getName() + "\t" + violation.getClass().getSimpleName() + "\t" + text);
            }
            Collections.sort(lines);
            for (String line : lines) {
                System.out.println(line);
            }
            violations += lines.size();
        }
        System.out.println("axioms\t" + ontology.getAxiomCount() + "\tviolations\t" + violations);
        System.exit(violations == 0 ? 0 : 1);
    }
}
