// Reference harness for the H2O fixtures (models/fixtures_h2o.py compiles it with javac
// against h2o-genmodel.jar; it is not part of Timber).
//
//     java -cp h2o-genmodel.jar:DIR H2oMojoMargin model.zip input.csv out.txt
//
// For each data row of input.csv it writes one line of hexadecimal double bits (Java's
// Double.doubleToRawLongBits), in three `;`-separated groups:
//
//   raw    the row as H2O's MOJO scorer sees it: the double[] that EasyPredictModelWrapper
//          (the wrapper PredictCsv uses, with the same settings) builds from the CSV cells;
//   margin the link-space value(s): SharedTreeMojoModel.scoreTreeRange over all trees (the
//          per-class tree sums H2O's score0 starts from), then for GBM the same additions
//          GbmMojoModel.unifyPreds makes before its inverse link: `sum + init_f + offset`
//          (offset 0.0, evaluated left to right) for bernoulli and regression, `-f` as the
//          second value for multinomial with two classes; DRF: the plain per-class sums;
//   preds  the double[] that MojoModel.score0 returns (label index, then probabilities, or
//          the regression value), which must equal what PredictCsv printed.
//
// CSV cells are read as PredictCsv reads them (opencsv CSVReader; "", "NA", "N/A" and "-"
// are missing) and converted by EasyPredictModelWrapper's own converter, with unknown
// categorical levels turned into NA as PredictCsv configures it.

import au.com.bytecode.opencsv.CSVReader;
import hex.genmodel.MojoModel;
import hex.genmodel.algos.drf.DrfMojoModel;
import hex.genmodel.algos.gbm.GbmMojoModel;
import hex.genmodel.algos.tree.SharedTreeMojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.utils.DistributionFamily;

import java.io.BufferedWriter;
import java.io.FileReader;
import java.io.FileWriter;
import java.util.Arrays;

public class H2oMojoMargin {

  /** Exposes the wrapper's own CSV-cell-to-double conversion. */
  static final class Wrapper extends EasyPredictModelWrapper {
    Wrapper(Config config) {
      super(config);
    }

    double[] raw(RowData row) throws Exception {
      double[] raw = new double[m.nfeatures()];
      Arrays.fill(raw, Double.NaN);
      return fillRawData(row, raw);
    }
  }

  static String hex(double d) {
    return Long.toHexString(Double.doubleToRawLongBits(d));
  }

  public static void main(String[] args) throws Exception {
    MojoModel model = MojoModel.load(args[0]);
    SharedTreeMojoModel tree = (SharedTreeMojoModel) model;
    Wrapper wrapper = new Wrapper(new EasyPredictModelWrapper.Config()
        .setModel(model)
        .setConvertUnknownCategoricalLevelsToNa(true)
        .setConvertInvalidNumbersToNa(false));
    int nclasses = model.nclasses();
    try (CSVReader reader = new CSVReader(new FileReader(args[1]), ',');
         BufferedWriter out = new BufferedWriter(new FileWriter(args[2]))) {
      String[] header = reader.readNext();
      String[] cells;
      while ((cells = reader.readNext()) != null) {
        RowData row = new RowData();
        for (int i = 0; i < Math.min(header.length, cells.length); i++) {
          switch (cells[i]) {
            case "":
            case "NA":
            case "N/A":
            case "-":
              continue;
            default:
              row.put(header[i], cells[i]);
          }
        }
        double[] raw = wrapper.raw(row);

        double[] sums = new double[model.getPredsSize()];
        tree.scoreTreeRange(raw, 0, tree.getNTreeGroups(), sums);
        double[] margin;
        double offset = 0.0;
        if (model instanceof GbmMojoModel) {
          GbmMojoModel gbm = (GbmMojoModel) model;
          DistributionFamily fam = gbm._family;
          if (fam == DistributionFamily.bernoulli || fam == DistributionFamily.quasibinomial
              || fam == DistributionFamily.modified_huber) {
            margin = new double[] {sums[1] + gbm._init_f + offset};
          } else if (fam == DistributionFamily.multinomial) {
            if (nclasses == 2) {
              double f = sums[1] + gbm._init_f + offset;
              margin = new double[] {f, -f};
            } else {
              margin = Arrays.copyOfRange(sums, 1, sums.length);
            }
          } else {
            margin = new double[] {sums[0] + gbm._init_f + offset};
          }
        } else if (model instanceof DrfMojoModel) {
          if (nclasses == 1) {
            margin = new double[] {sums[0]};
          } else if (nclasses == 2 && !((DrfMojoModel) model).isBinomialDoubleTrees()) {
            margin = new double[] {sums[1]};
          } else {
            margin = Arrays.copyOfRange(sums, 1, sums.length);
          }
        } else {
          throw new IllegalArgumentException("not a GBM or DRF MOJO: " + model.getClass());
        }

        double[] preds = model.score0(raw, new double[model.getPredsSize()]);

        StringBuilder sb = new StringBuilder();
        appendHex(sb, raw);
        sb.append(';');
        appendHex(sb, margin);
        sb.append(';');
        appendHex(sb, preds);
        out.write(sb.toString());
        out.write('\n');
      }
    }
  }

  static void appendHex(StringBuilder sb, double[] values) {
    for (int i = 0; i < values.length; i++) {
      if (i > 0) sb.append(',');
      sb.append(hex(values[i]));
    }
  }
}
